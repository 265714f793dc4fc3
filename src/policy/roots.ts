import { BundleOutsideRoots } from '../errors.ts';
import type { Bundle } from './bundle.ts';

/**
 * Refuses a bundle that reaches outside the `roots` its manifest declares, as OPA does
 * (`validateAndInjectDefaults` in `v1/bundle/bundle.go`): every value of `data.json` must
 * lie under a root (an object that only leads towards a root is walked into), every Rego
 * file's package and every WebAssembly entrypoint too. A data file in a subdirectory, or a
 * YAML one (which mcp-warden does not read), must lie wholly under a root. A root of `''`
 * (the default) owns everything.
 */
export function checkRoots(bundle: Bundle): void {
  const roots = bundle.roots.map(segments);
  if (roots.some((r) => r.length === 0)) return;
  const declared = JSON.stringify(bundle.roots);
  const owned = (path: readonly string[]) => roots.some((root) => startsWith(path, root));
  checkData(bundle.data, [], roots, declared);
  for (const [name, body] of bundle.files) {
    const base = name.split('/').at(-1) ?? '';
    if (name !== 'data.json' && /^data\.(json|ya?ml)$/.test(base) && !owned(segments(name).slice(0, -1))) {
      throw new BundleOutsideRoots(`bundle file ${name} holds data outside the manifest roots ${declared}`);
    }
    if (!name.endsWith('.rego')) continue;
    const pkg = packagePath(body.toString('utf8'));
    if (pkg === undefined)
      throw new BundleOutsideRoots(`the package of bundle file ${name} cannot be read to check it against the roots`);
    if (!owned(pkg)) {
      throw new BundleOutsideRoots(
        `bundle file ${name} declares package ${pkg.join('.')} outside the manifest roots ${declared}`,
      );
    }
  }
  for (const entrypoint of bundle.entrypoints) {
    if (!owned(segments(entrypoint))) {
      throw new BundleOutsideRoots(`bundle entrypoint ${entrypoint} is outside the manifest roots ${declared}`);
    }
  }
}

function checkData(node: unknown, path: string[], roots: readonly string[][], declared: string): void {
  if (roots.some((root) => startsWith(path, root))) return;
  const towardsRoot = roots.some((root) => startsWith(root, path));
  if (towardsRoot && node !== null && typeof node === 'object' && !Array.isArray(node)) {
    for (const [key, child] of Object.entries(node)) checkData(child, [...path, key], roots, declared);
    return;
  }
  throw new BundleOutsideRoots(`bundle data at /${path.join('/')} is outside the manifest roots ${declared}`);
}

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => path[i] === s);
}

const PACKAGE = /^\s*package\s+([^\s#]+)/m;
const REF = /^[A-Za-z_]\w*((\.[A-Za-z_]\w*)|(\["[^"\\]*"\]))*$/;

/** The package of a Rego module as path segments (`data.` dropped), or undefined when it cannot be read. */
function packagePath(source: string): string[] | undefined {
  const withoutComments = source.replace(/#.*$/gm, '');
  const ref = PACKAGE.exec(withoutComments)?.[1];
  if (ref === undefined || !REF.test(ref)) return undefined;
  const parts = [...ref.matchAll(/([A-Za-z_]\w*)|\["([^"\\]*)"\]/g)].map((m) => (m[1] ?? m[2]) as string);
  return parts[0] === 'data' ? parts.slice(1) : parts;
}
