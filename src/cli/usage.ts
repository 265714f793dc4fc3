/**
 * Each command's own usage: what `mcp-warden <command> --help` (or `help <command>`) prints
 * on stdout, and what follows a usage error on stderr.
 */
export const COMMAND_USAGE: Readonly<Record<string, string>> = {
  serve: `usage: mcp-warden serve [options]

run the decision service

  --config <file>          JSON config (or MCP_WARDEN_CONFIG)
  --host <addr>            listen address (default 127.0.0.1)
  --port <n>               listen port, 0 to 65535 (default 8181; 0 picks a free one)
  --bundle <file>          policy bundle (default: the bundled default)
  --dev                    dev mode: a local issuer and dev-token (loopback only)
  --watch-policies <dir>   build <dir> with opa on every .rego/data change and serve it
                           (a compile error keeps the old policy)
  -h, --help               show this text`,
  proxy: `usage: mcp-warden proxy --upstream <url> [options]

an MCP Streamable HTTP endpoint in front of an MCP server, deciding every request
(see docs/mcp.md)

  --upstream <url>   the MCP server behind the proxy (or proxy.upstream.url)
  --config <file>    JSON config (or MCP_WARDEN_CONFIG)
  --host <addr>      listen address (default 127.0.0.1)
  --port <n>         listen port, 0 to 65535 (proxy.port; 0 picks a free one)
  --resource <uri>   the protected resource's id (default: the endpoint's URL)
  --warden <url>     a remote decision service (its key in MCP_WARDEN_API_KEY);
                     default: decide in this process
  --bundle <file>    policy bundle, when deciding in this process
  --dev              dev mode: a local issuer and dev-token (loopback only)
  --require-neighbours  exit 1 when the decision service or the upstream does not
                     answer at start (default: a warning)
  -h, --help         show this text`,
  'dev-token': `usage: mcp-warden dev-token --sub <id> [options]

mint a token from a running dev-mode service on loopback

  --sub <id>           the token's subject (required)
  --role <r>           a role; repeat for more
  --scope "<s> <s>"    space-separated scopes
  --client-id <id>     the OAuth client the token is for
  --server <uri>       the MCP server id (default https://mcp.example.com/files)
  --ttl <seconds>      lifetime, a whole number of seconds
  --url <url>          the service (default http://127.0.0.1:8181, or MCP_WARDEN_URL)
  --key-file <file>    sign here with the dev key in this file instead (e.g. for proxy --dev,
                       which keeps it in var/dev-issuer.jwk.json)
  -h, --help           show this text`,
  'api-key': `usage: mcp-warden api-key --id <caller id> [--role pep|admin|metrics]

generate an API key for a caller and print its config entry (callers.api_keys)

  --id <caller id>            who the key is for (required)
  --role pep|admin|metrics    what it may do (default pep)
  -h, --help                  show this text`,
  audit: `usage: mcp-warden audit verify|query|access|keys|prove|check-proof|migrate [options]

  verify   replay every chain and signed checkpoint of the configured sink; exit 1 and
           the first broken link when it fails
           --config <file>, or --file <file> for a JSONL trail;
           --keys <file> for an auditor's verifier keys (one C2SP vkey per line);
           --closed to fail on a chain without its close record or a recorded crash;
           --witness <url> [--witness-key <vkey>] to check the trail against a witness
  query    --session --subject --client-id --tool --server --kind
           --outcome allow|deny --since --until --limit --cursor
  access   --server <url> --tool <name> [--since -1h] [--until] [--format json|csv]:
           who could call the tool in the window (default the last hour) and who did
  keys     print the checkpoint key's verifier key, a C2SP vkey (for --keys)
  prove    print, as JSON, the inclusion proof of one record in a signed checkpoint:
           --decision <id>, or --chain <id> --seq <n> [--size <checkpoint size>];
           or the consistency proof of two checkpoints: --chain <id> --from <m> --to <n>
  check-proof  --proof <file>: check what prove printed, with the trusted keys only
  migrate  --owner-url <url> --grant <role>: create the PostgreSQL schema as its owner and
           give the service's role SELECT and INSERT only (then audit.postgres.migrate: false)
  -h, --help   show this text`,
  test: `usage: mcp-warden test <policy dir> [--cases <dir>] [--coverage-min <n>] [--skip-lint]

check a policy folder as CI does: opa fmt, opa check --strict, regal lint (configured
by the .regal/config.yaml found in or above the folder), opa test with coverage
≥ --coverage-min (90), and --cases <dir> of *.yaml {note, input, want} evaluated
against the compiled WASM bundle

  --skip-lint  leave regal lint out (it is required otherwise: a missing regal fails)
  -h, --help   show this text`,
  witness: `usage: mcp-warden witness [serve] --key-file <file> --log <vkey> (--state <file> | --postgres <url>)
       mcp-warden witness key --key-file <file> [--name <name>]

a C2SP tlog-witness: cosigns a log's checkpoint only with a consistency proof from the
last one it holds, and keeps the latest per origin (see docs/witness.md)

  serve (the default)
  --listen <host:port>     listen address (default 127.0.0.1:8182; port 0 picks a free one)
  --key-file <file>        the witness's Ed25519 key (created on first use, mode 0600; required)
  --name <name>            its key name, on its cosignatures (default mcp-warden-witness)
  --log <vkey>             a log key (\`mcp-warden audit keys\`): origins <its name>/<chain>;
                           repeat for more (at least one)
  --state <file>           keep the state in this JSON file (one witness process per file)
  --postgres <url>         or in PostgreSQL, table <prefix>witness_logs
  --table-prefix <p>       that prefix (default none)
  key                      print the cosignature/v1 verifier key, for auditors and the service
  -h, --help               show this text`,
};

/** What `mcp-warden help` prints, and what an unknown command is answered with. */
export const USAGE = `usage: mcp-warden <command> [options]

commands:
  serve       run the decision service
  proxy       an MCP Streamable HTTP endpoint in front of an MCP server, deciding
              every request (see docs/mcp.md)
  dev-token   mint a token from a running dev-mode service on loopback
  audit       verify or query the audit trail, answer who had access, export its keys
  test        check a policy folder as CI does (opa fmt, check, test, cases)
  api-key     generate an API key for a caller and print its config entry
  witness     a tlog-witness cosigning the audit checkpoints (see docs/witness.md)
  help        show this text; \`help <command>\` or \`<command> --help\` shows its options

exit codes: 0 ok, 1 failure, 2 usage or configuration refused (docs/operations.md)`;
