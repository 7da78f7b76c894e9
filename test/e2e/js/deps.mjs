// Checks that test/e2e/node_modules holds exactly the packages of
// test/e2e/package-lock.json, at the locked versions.
//
//   node test/e2e/js/deps.mjs --check   exit 0 when they match, else print why and exit 1
//
// The JS suite calls missingDependencies() first, so a missing or stale install
// fails with a message instead of a confusing import error.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const E2E_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const INSTALL_HINT =
  'run scripts/install-deps.sh --with-test-tools (or: cd test/e2e && npm ci) to install the JS SDK test dependencies';

/** Returns null when node_modules matches package-lock.json, else a description of the first few problems. */
export function missingDependencies(dir = E2E_DIR) {
  if (!existsSync(join(dir, 'node_modules'))) return `test/e2e/node_modules is not installed: ${INSTALL_HINT}`;
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const problems = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path.startsWith('node_modules/') || entry.optional || entry.dev) continue;
    const manifest = join(dir, path, 'package.json');
    if (!existsSync(manifest)) {
      problems.push(`${path} is missing`);
      continue;
    }
    const installed = JSON.parse(readFileSync(manifest, 'utf8')).version;
    if (installed !== entry.version) problems.push(`${path} is ${installed}, the lockfile wants ${entry.version}`);
  }
  if (problems.length === 0) return null;
  const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  return `test/e2e/node_modules does not match package-lock.json (${shown}): ${INSTALL_HINT}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv.includes('--check')) {
  const problem = missingDependencies();
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
}
