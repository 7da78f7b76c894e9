// What the JS end-to-end suites share: keeping the user's AWS configuration away from the SDK, client
// settings for a gateway endpoint, exact amounts, and the expected-error check.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ACCESS_KEY, SECRET_KEY } from './gateway.mjs';

export const REGION = 'us-east-1';

/**
 * Nothing from the user's AWS configuration may reach the SDK (a profile, region, endpoint override or
 * AWS_BEARER_TOKEN_BEDROCK would change what it sends): drops AWS_* variables and points the config and
 * credentials files at empty ones in a scratch directory, which it returns (the caller removes it).
 */
export function isolateAwsEnvironment() {
  const scratch = mkdtempSync(join(tmpdir(), 'tollgate-e2e-js-aws-'));
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  process.env.AWS_CONFIG_FILE = join(scratch, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(scratch, 'credentials');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  writeFileSync(process.env.AWS_CONFIG_FILE, '');
  writeFileSync(process.env.AWS_SHARED_CREDENTIALS_FILE, '');
  return scratch;
}

/** Client settings for the gateway at `endpoint`, with the default principal, no retries. */
export const clientConfig = (endpoint, secretAccessKey = SECRET_KEY) => ({
  region: REGION,
  endpoint,
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey },
  maxAttempts: 1,
});

/** "0.00000175" (or "1", "0.000008750", "-0.5") → exact integer nano-USD as a BigInt. */
export function nanoUsd(amount) {
  assert.equal(typeof amount, 'string', `an amount is a decimal string, got ${JSON.stringify(amount)}`);
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?$/.exec(amount);
  assert.ok(m, `not a decimal amount with at most 9 decimals: ${JSON.stringify(amount)}`);
  const nano = BigInt(m[2]) * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0'));
  return m[1] ? -nano : nano;
}

/** Awaits `promise`, which must fail with the AWS error `name` (HTTP 400) and, if given, `message`. */
export async function rejectsWith(promise, name, message) {
  const error = await promise.then(
    (value) => assert.fail(`expected ${name}, got a success: ${JSON.stringify(value)}`),
    (e) => e,
  );
  assert.equal(error.name, name, `error.name (message: ${error.message})`);
  assert.equal(error.$metadata?.httpStatusCode, 400, 'error.$metadata.httpStatusCode');
  if (message !== undefined) assert.equal(error.message, message);
  return error;
}
