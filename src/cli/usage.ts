/** What `mcp-warden help` prints, and what an unknown command is answered with. */
export const USAGE = `usage: mcp-warden <command> [options]

commands:
  serve       run the decision service
              --config <file>  JSON config (or MCP_WARDEN_CONFIG)
              --host <addr>    listen address (default 127.0.0.1)
              --port <n>       listen port (default 8181)
              --bundle <file>  policy bundle (default: the bundled default)
              --dev            dev mode: a local issuer and dev-token (loopback only)
              --watch-policies <dir>  build <dir> with opa on every .rego/data change
                               and serve it (a compile error keeps the old policy)
  proxy       an MCP Streamable HTTP endpoint in front of an MCP server, deciding
              every request (see docs/mcp.md)
              --upstream <url> [--config <file>] [--host <addr>] [--port <n>]
              [--resource <uri>] [--warden <url> (key in MCP_WARDEN_API_KEY)]
              [--bundle <file>] [--dev]
  dev-token   mint a token from a running dev-mode service on loopback
              --sub <id> [--role <r>]... [--scope "<s> <s>"] [--client-id <id>]
              [--server <uri>] [--ttl <seconds>] [--url http://127.0.0.1:8181]
  audit       verify: replay every chain and signed checkpoint of the configured sink
              (--config f, or --file f for a JSONL trail; --keys jwks.json for an
              auditor's public keys); exit 1 and the first broken link when it fails
              query: --session --subject --client-id --tool --server --kind
              --outcome allow|deny --since --until --limit --cursor
  test        check a policy folder as CI does: opa fmt, opa check --strict, opa test
              with coverage ≥ --coverage-min (90), and --cases <dir> of *.yaml
              {note, input, want} evaluated against the compiled WASM bundle
  api-key     generate an API key for a caller and print its config entry
              --id <caller id> --role pep|admin|metrics
  help        show this text`;
