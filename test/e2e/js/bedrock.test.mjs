// End-to-end: the AWS SDK for JavaScript v3 (@aws-sdk/client-bedrock, pinned in
// test/e2e/package-lock.json) against the real tollgate binary.
//
// Run: TOLLGATE_BINARY=build/tollgate node --test test/e2e/js/bedrock.test.mjs
// Needs test/e2e/node_modules (scripts/install-deps.sh --with-test-tools); without
// it the suite fails and says so.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { REGION, isolateAwsEnvironment } from './aws_env.mjs';
import { missingDependencies } from './deps.mjs';
import { ACCESS_KEY, ACCOUNT_ID, E2E_CONFIG, SECRET_KEY, startGateway } from './gateway.mjs';

const problem = missingDependencies();
if (problem) throw new Error(problem);

const {
  BedrockClient,
  CreateInferenceProfileCommand,
  DeleteInferenceProfileCommand,
  GetInferenceProfileCommand,
  ListInferenceProfilesCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  paginateListInferenceProfiles,
} = await import('@aws-sdk/client-bedrock');
const {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
} = await import('@aws-sdk/client-bedrock-runtime');

const scratch = isolateAwsEnvironment();

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const HAIKU_ARN = `arn:aws:bedrock:${REGION}::foundation-model/${HAIKU}`;
const APP_ARN = new RegExp(`^arn:aws:bedrock:${REGION}:${ACCOUNT_ID}:application-inference-profile/([a-z0-9]{12})$`);

function bedrock(endpoint, secretAccessKey = SECRET_KEY) {
  return new BedrockClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey },
    maxAttempts: 1,
  });
}

const tagMap = (tags) => Object.fromEntries(tags.map((t) => [t.key, t.value]));

async function collect(client, pageSize, input) {
  const pages = [];
  for await (const page of paginateListInferenceProfiles({ client, pageSize }, input)) pages.push(page);
  return pages;
}

async function rejectsWith(promise, name, status) {
  const error = await promise.then(
    (value) => assert.fail(`expected ${name}, got a success: ${JSON.stringify(value)}`),
    (e) => e,
  );
  assert.equal(error.name, name, `error.name (message: ${error.message})`);
  assert.equal(error.$metadata?.httpStatusCode, status, 'error.$metadata.httpStatusCode');
  assert.ok(error.$metadata?.requestId, 'x-amzn-RequestId on the error');
  return error;
}

describe('AWS SDK for JavaScript v3 against tollgate', () => {
  let gateway;
  let client;

  before(async () => {
    gateway = await startGateway({ config: E2E_CONFIG });
    client = bedrock(gateway.endpoint);
  });

  after(async () => {
    client?.destroy();
    rmSync(scratch, { recursive: true, force: true });
    if (gateway) assert.equal(await gateway.stop(), 0, `tollgate should exit 0 on SIGTERM\n${gateway.logs()}`);
  });

  test('create, get, list, tag, untag, list tags, delete', async () => {
    const created = await client.send(new CreateInferenceProfileCommand({
      inferenceProfileName: 'js-support-bot',
      description: 'Created by the JS SDK',
      modelSource: { copyFrom: HAIKU_ARN },
      tags: [{ key: 'team', value: 'growth' }],
    }));
    assert.equal(created.$metadata.httpStatusCode, 201);
    assert.equal(created.status, 'ACTIVE');
    const arn = created.inferenceProfileArn;
    const [, id] = APP_ARN.exec(arn) ?? assert.fail(`unexpected ARN ${arn}`);

    const byArn = await client.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: arn }));
    const byId = await client.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: id }));
    assert.ok(byArn.$metadata.requestId, 'x-amzn-RequestId on success');
    for (const got of [byArn, byId]) {
      assert.equal(got.inferenceProfileName, 'js-support-bot');
      assert.equal(got.description, 'Created by the JS SDK');
      assert.equal(got.inferenceProfileArn, arn);
      assert.equal(got.inferenceProfileId, id);
      assert.deepEqual(got.models, [{ modelArn: HAIKU_ARN }]);
      assert.equal(got.type, 'APPLICATION');
      assert.equal(got.status, 'ACTIVE');
      assert.ok(got.createdAt instanceof Date && Math.abs(Date.now() - got.createdAt) < 300_000, 'createdAt');
    }

    const apps = await client.send(new ListInferenceProfilesCommand({ typeEquals: 'APPLICATION' }));
    assert.ok(apps.inferenceProfileSummaries.some((p) => p.inferenceProfileArn === arn));
    assert.deepEqual([...new Set(apps.inferenceProfileSummaries.map((p) => p.type))], ['APPLICATION']);

    await client.send(new TagResourceCommand({
      resourceARN: arn,
      tags: [{ key: 'env', value: 'prod' }, { key: 'team', value: 'platform' }],
    }));
    let tags = await client.send(new ListTagsForResourceCommand({ resourceARN: arn }));
    assert.deepEqual(tagMap(tags.tags), { team: 'platform', env: 'prod' });
    await client.send(new UntagResourceCommand({ resourceARN: arn, tagKeys: ['team'] }));
    tags = await client.send(new ListTagsForResourceCommand({ resourceARN: arn }));
    assert.deepEqual(tagMap(tags.tags), { env: 'prod' });

    const deleted = await client.send(new DeleteInferenceProfileCommand({ inferenceProfileIdentifier: arn }));
    assert.equal(deleted.$metadata.httpStatusCode, 200);
    await rejectsWith(client.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: arn })),
      'ResourceNotFoundException', 404);
    const after = await client.send(new ListInferenceProfilesCommand({ typeEquals: 'APPLICATION' }));
    assert.ok(!after.inferenceProfileSummaries.some((p) => p.inferenceProfileArn === arn));
  });

  test('paginateListInferenceProfiles with pageSize 2 sees every profile once', async () => {
    const arns = [];
    for (let i = 0; i < 5; i++) {
      const out = await client.send(new CreateInferenceProfileCommand({
        inferenceProfileName: `js-paged-${i}`, modelSource: { copyFrom: HAIKU_ARN },
      }));
      arns.push(out.inferenceProfileArn);
    }
    const pages = await collect(client, 2, { typeEquals: 'APPLICATION' });
    const listed = pages.flatMap((p) => p.inferenceProfileSummaries.map((s) => s.inferenceProfileArn));
    assert.ok(pages.length >= 3, `5 profiles in pages of 2 need at least 3 pages, got ${pages.length}`);
    assert.ok(pages.every((p) => p.inferenceProfileSummaries.length <= 2));
    assert.equal(new Set(listed).size, listed.length, 'a profile was listed twice');
    const all = await client.send(new ListInferenceProfilesCommand({ typeEquals: 'APPLICATION', maxResults: 1000 }));
    assert.equal(all.nextToken, undefined);
    assert.deepEqual([...listed].sort(), all.inferenceProfileSummaries.map((p) => p.inferenceProfileArn).sort());
    for (const arn of arns) assert.ok(listed.includes(arn), `${arn} missing from the paginated listing`);

    const systemPages = await collect(client, 2, { typeEquals: 'SYSTEM_DEFINED' });
    const systemIds = systemPages.flatMap((p) => p.inferenceProfileSummaries.map((s) => s.inferenceProfileId));
    const allSystems = await client.send(new ListInferenceProfilesCommand({ typeEquals: 'SYSTEM_DEFINED', maxResults: 1000 }));
    assert.ok(systemPages.length > 2);
    assert.ok(systemIds.includes(`us.${HAIKU}`));
    assert.equal(new Set(systemIds).size, systemIds.length, 'a system-defined profile was listed twice');
    assert.deepEqual(systemIds, allSystems.inferenceProfileSummaries.map((p) => p.inferenceProfileId));
    assert.ok(systemPages.every((p) => p.inferenceProfileSummaries.every((s) => s.type === 'SYSTEM_DEFINED')));

    for (const arn of arns) await client.send(new DeleteInferenceProfileCommand({ inferenceProfileIdentifier: arn }));
  });

  test('a duplicate name is a ConflictException (400)', async () => {
    const input = { inferenceProfileName: 'js-duplicate', modelSource: { copyFrom: HAIKU_ARN } };
    const first = await client.send(new CreateInferenceProfileCommand(input));
    const error = await rejectsWith(client.send(new CreateInferenceProfileCommand(input)), 'ConflictException', 400);
    assert.match(error.message, /js-duplicate/);
    const apps = await client.send(new ListInferenceProfilesCommand({ typeEquals: 'APPLICATION', maxResults: 1000 }));
    assert.equal(apps.inferenceProfileSummaries.filter((p) => p.inferenceProfileName === 'js-duplicate').length, 1);
    await client.send(new DeleteInferenceProfileCommand({ inferenceProfileIdentifier: first.inferenceProfileArn }));
  });

  test('a wrong secret is an InvalidSignatureException (403) and creates nothing', async () => {
    const wrong = bedrock(gateway.endpoint, 'not-the-secret');
    try {
      await rejectsWith(wrong.send(new CreateInferenceProfileCommand({
        inferenceProfileName: 'js-wrong-secret', modelSource: { copyFrom: HAIKU_ARN },
      })), 'InvalidSignatureException', 403);
    } finally {
      wrong.destroy();
    }
    const apps = await client.send(new ListInferenceProfilesCommand({ typeEquals: 'APPLICATION', maxResults: 1000 }));
    assert.ok(!apps.inferenceProfileSummaries.some((p) => p.inferenceProfileName === 'js-wrong-secret'));
  });
});

describe('bedrock-runtime through an application profile with the JS SDK', () => {
  let gateway;
  let control;
  let runtime;
  let profileArn;

  before(async () => {
    gateway = await startGateway({ config: E2E_CONFIG });
    control = bedrock(gateway.endpoint);
    runtime = new BedrockRuntimeClient({
      region: REGION,
      endpoint: gateway.endpoint,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      maxAttempts: 1,
    });
    const created = await control.send(new CreateInferenceProfileCommand({
      inferenceProfileName: 'js-runtime-bot',
      modelSource: { copyFrom: HAIKU_ARN },
      tags: [{ key: 'team', value: 'growth' }],
    }));
    profileArn = created.inferenceProfileArn;
  });

  after(async () => {
    control?.destroy();
    runtime?.destroy();
    if (gateway) assert.equal(await gateway.stop(), 0, `tollgate should exit 0 on SIGTERM\n${gateway.logs()}`);
  });

  const messages = [{ role: 'user', content: [{ text: 'Hello from JavaScript' }] }];

  test('ConverseCommand answers with usage', async () => {
    const response = await runtime.send(new ConverseCommand({ modelId: profileArn, messages }));
    assert.equal(response.$metadata.httpStatusCode, 200);
    assert.match(response.output.message.content[0].text, /imulated/);
    const { inputTokens, outputTokens, totalTokens } = response.usage;
    assert.ok(inputTokens > 0 && outputTokens > 0);
    assert.equal(totalTokens, inputTokens + outputTokens);
  });

  test('ConverseStreamCommand streams events ending with usage metadata', async () => {
    const response = await runtime.send(new ConverseStreamCommand({ modelId: profileArn, messages }));
    const kinds = [];
    let text = '';
    let usage;
    for await (const event of response.stream) {
      const kind = Object.keys(event)[0];
      kinds.push(kind);
      if (event.contentBlockDelta) text += event.contentBlockDelta.delta.text;
      if (event.metadata) usage = event.metadata.usage;
    }
    assert.equal(kinds[0], 'messageStart');
    assert.deepEqual(kinds.slice(-2), ['messageStop', 'metadata']);
    assert.match(text, /imulated/);
    const whole = await runtime.send(new ConverseCommand({ modelId: profileArn, messages }));
    assert.deepEqual(usage.inputTokens, whole.usage.inputTokens);
    assert.equal(text, whole.output.message.content[0].text, 'streamed and whole answers are the same text');
  });

  test('an unknown profile is a ResourceNotFoundException (404)', async () => {
    await rejectsWith(runtime.send(new ConverseCommand({
      modelId: `arn:aws:bedrock:${REGION}:${ACCOUNT_ID}:application-inference-profile/abcdefabcdef`, messages,
    })), 'ResourceNotFoundException', 404);
  });
});
