// End-to-end: the AWS SDK for JavaScript v3 Cost Explorer client
// (@aws-sdk/client-cost-explorer, pinned in test/e2e/package-lock.json) against
// the real tollgate binary, over usage made through an application inference
// profile with @aws-sdk/client-bedrock and @aws-sdk/client-bedrock-runtime.
//
// Run: TOLLGATE_BINARY=build/tollgate node --test test/e2e/js/cost_explorer.test.mjs
// Needs test/e2e/node_modules (scripts/install-deps.sh --with-test-tools); without
// it the suite fails and says so.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { REGION, clientConfig, isolateAwsEnvironment, nanoUsd, rejectsWith } from './aws_env.mjs';
import { missingDependencies } from './deps.mjs';
import { E2E_CONFIG, startGateway } from './gateway.mjs';

const problem = missingDependencies();
if (problem) throw new Error(problem);

const { BedrockClient, CreateInferenceProfileCommand } = await import('@aws-sdk/client-bedrock');
const { BedrockRuntimeClient, ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
const {
  CostExplorerClient,
  GetCostAndUsageCommand,
  GetCostForecastCommand,
  GetDimensionValuesCommand,
  ListCostAllocationTagsCommand,
  UpdateCostAllocationTagsStatusCommand,
} = await import('@aws-sdk/client-cost-explorer');

const scratch = isolateAwsEnvironment();

const HAIKU_ARN = `arn:aws:bedrock:${REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0`;
const COST_HEADER = 'x-tollgate-cost-usd';
const DAY_MS = 86_400_000;

/** YYYY-MM-DD of a UTC day, `offsetDays` from `from`. */
const utcDate = (offsetDays = 0, from = Date.now()) => new Date(from + offsetDays * DAY_MS).toISOString().slice(0, 10);

describe('Cost Explorer (AWS SDK for JavaScript v3) over usage made through tollgate', () => {
  let gateway;
  let control;
  let runtime;
  let ce;
  let profileArn;
  let firstCallDay;
  const costsBefore = []; // nano-USD of each call before `team` was activated, from x-tollgate-cost-usd
  const costsAfter = []; // ... and after
  const lastCost = { value: undefined };

  before(async () => {
    gateway = await startGateway({ config: E2E_CONFIG });
    control = new BedrockClient(clientConfig(gateway.endpoint));
    runtime = new BedrockRuntimeClient(clientConfig(gateway.endpoint));
    ce = new CostExplorerClient(clientConfig(gateway.endpoint));
    // The SDK does not model x-tollgate-cost-usd: read it off the raw HTTP response.
    runtime.middlewareStack.add((next) => async (args) => {
      const result = await next(args);
      lastCost.value = result.response?.headers?.[COST_HEADER];
      return result;
    }, { step: 'deserialize', name: 'captureTollgateCost' });

    const created = await control.send(new CreateInferenceProfileCommand({
      inferenceProfileName: 'js-cost-explorer-bot',
      modelSource: { copyFrom: HAIKU_ARN },
      tags: [{ key: 'team', value: 'growth' }, { key: 'cost-center', value: 'cc-42' }],
    }));
    profileArn = created.inferenceProfileArn;
  });

  after(async () => {
    control?.destroy();
    runtime?.destroy();
    ce?.destroy();
    rmSync(scratch, { recursive: true, force: true });
    if (gateway) assert.equal(await gateway.stop(), 0, `tollgate should exit 0 on SIGTERM\n${gateway.logs()}`);
  });

  async function converse(text) {
    lastCost.value = undefined;
    const response = await runtime.send(new ConverseCommand({
      modelId: profileArn,
      messages: [{ role: 'user', content: [{ text }] }],
    }));
    assert.equal(response.$metadata.httpStatusCode, 200);
    assert.match(response.output.message.content[0].text, /imulated/);
    assert.ok(response.usage.inputTokens > 0 && response.usage.outputTokens > 0);
    assert.ok(lastCost.value !== undefined, `the answer has no ${COST_HEADER} header`);
    const cost = nanoUsd(lastCost.value);
    assert.ok(cost > 0n, `${COST_HEADER} is ${lastCost.value}`);
    return cost;
  }

  // The period of every usage query: the day of the first call (today, unless the
  // suite runs across midnight UTC) to tomorrow.
  const period = () => ({ Start: firstCallDay, End: utcDate(1) });

  test('two calls before any tag key is active', async () => {
    firstCallDay = utcDate();
    costsBefore.push(await converse('Hello from the Cost Explorer suite'));
    costsBefore.push(await converse('A second question before activation'));
  });

  test('ListCostAllocationTags knows team and cost-center, inactive and user-defined', async () => {
    const out = await ce.send(new ListCostAllocationTagsCommand({}));
    const byKey = Object.fromEntries(out.CostAllocationTags.map((t) => [t.TagKey, t]));
    for (const key of ['team', 'cost-center']) {
      assert.ok(byKey[key], `${key} missing from ${JSON.stringify(out.CostAllocationTags)}`);
      assert.equal(byKey[key].Status, 'Inactive', `${key}.Status`);
      assert.equal(byKey[key].Type, 'UserDefined', `${key}.Type`);
    }
  });

  test('UpdateCostAllocationTagsStatus activates team and reports an unknown key', async () => {
    const activated = await ce.send(new UpdateCostAllocationTagsStatusCommand({
      CostAllocationTagsStatus: [{ TagKey: 'team', Status: 'Active' }],
    }));
    assert.deepEqual(activated.Errors, []);

    const unknown = await ce.send(new UpdateCostAllocationTagsStatusCommand({
      CostAllocationTagsStatus: [{ TagKey: 'no-profile-has-this-key', Status: 'Active' }],
    }));
    assert.equal(unknown.Errors.length, 1, JSON.stringify(unknown.Errors));
    assert.equal(unknown.Errors[0].TagKey, 'no-profile-has-this-key');
    assert.equal(unknown.Errors[0].Code, 'TagKeysNotFoundException');

    const listed = await ce.send(new ListCostAllocationTagsCommand({}));
    const byKey = Object.fromEntries(listed.CostAllocationTags.map((t) => [t.TagKey, t.Status]));
    assert.equal(byKey.team, 'Active');
    assert.equal(byKey['cost-center'], 'Inactive');
    assert.ok(!('no-profile-has-this-key' in byKey));
  });

  test('GetCostAndUsage by tag: usage counts under team only after activation, and the groups add up', async () => {
    costsAfter.push(await converse('A question after team was activated'));

    const grouped = await ce.send(new GetCostAndUsageCommand({
      TimePeriod: period(),
      Granularity: 'DAILY',
      Metrics: ['UnblendedCost', 'UsageQuantity'],
      GroupBy: [{ Type: 'TAG', Key: 'team' }],
    }));
    assert.deepEqual(grouped.GroupDefinitions, [{ Type: 'TAG', Key: 'team' }]);
    const groups = new Map();
    for (const result of grouped.ResultsByTime) {
      for (const g of result.Groups) {
        assert.equal(g.Keys.length, 1);
        assert.equal(g.Metrics.UnblendedCost.Unit, 'USD');
        const sum = groups.get(g.Keys[0]) ?? { cost: 0n, usage: 0n };
        sum.cost += nanoUsd(g.Metrics.UnblendedCost.Amount);
        sum.usage += BigInt(g.Metrics.UsageQuantity.Amount);
        groups.set(g.Keys[0], sum);
      }
    }
    assert.deepEqual([...groups.keys()].sort(), ['team$', 'team$growth']);
    const sum = (list) => list.reduce((a, b) => a + b, 0n);
    assert.equal(groups.get('team$').cost, sum(costsBefore), 'team$ is the two calls before activation');
    assert.equal(groups.get('team$growth').cost, sum(costsAfter), 'team$growth is the call after activation');

    const total = await ce.send(new GetCostAndUsageCommand({
      TimePeriod: period(),
      Granularity: 'DAILY',
      Metrics: ['UnblendedCost', 'UsageQuantity'],
    }));
    let totalCost = 0n;
    let totalUsage = 0n;
    for (const result of total.ResultsByTime) {
      assert.deepEqual(result.Groups, []);
      totalCost += nanoUsd(result.Total.UnblendedCost.Amount);
      totalUsage += BigInt(result.Total.UsageQuantity.Amount);
    }
    const groupCost = [...groups.values()].reduce((a, g) => a + g.cost, 0n);
    const groupUsage = [...groups.values()].reduce((a, g) => a + g.usage, 0n);
    assert.equal(groupCost, totalCost, 'the groups add up to the total, to the nano-dollar');
    assert.equal(groupUsage, totalUsage, 'the groups\' UsageQuantity adds up to the total');
    assert.equal(totalCost, sum(costsBefore) + sum(costsAfter), 'the total is what the three calls cost');

    const filtered = await ce.send(new GetCostAndUsageCommand({
      TimePeriod: period(),
      Granularity: 'DAILY',
      Metrics: ['UnblendedCost', 'UsageQuantity'],
      Filter: { Tags: { Key: 'team', Values: ['growth'] } },
    }));
    let filteredCost = 0n;
    let filteredUsage = 0n;
    for (const result of filtered.ResultsByTime) {
      filteredCost += nanoUsd(result.Total.UnblendedCost.Amount);
      filteredUsage += BigInt(result.Total.UsageQuantity.Amount);
    }
    assert.equal(filteredCost, groups.get('team$growth').cost, 'Filter team=growth is the team$growth group');
    assert.equal(filteredUsage, groups.get('team$growth').usage);
  });

  test('GetCostAndUsage rejects bad input with ValidationException', async () => {
    const base = { Granularity: 'DAILY', Metrics: ['UnblendedCost'] };
    await rejectsWith(ce.send(new GetCostAndUsageCommand({
      ...base, TimePeriod: { Start: utcDate(1), End: utcDate(0) },
    })), 'ValidationException');
    await rejectsWith(ce.send(new GetCostAndUsageCommand({
      ...base,
      TimePeriod: period(),
      GroupBy: [
        { Type: 'TAG', Key: 'team' },
        { Type: 'TAG', Key: 'cost-center' },
        { Type: 'DIMENSION', Key: 'USAGE_TYPE' },
      ],
    })), 'ValidationException', 'Only two values for GroupBy are allowed');
    await rejectsWith(ce.send(new GetCostAndUsageCommand({
      ...base, TimePeriod: period(), GroupBy: [{ Type: 'DIMENSION', Key: 'NOT_A_DIMENSION' }],
    })), 'ValidationException');
  });

  test('GetDimensionValues USAGE_TYPE lists the Haiku token usage types', async () => {
    const out = await ce.send(new GetDimensionValuesCommand({ TimePeriod: period(), Dimension: 'USAGE_TYPE' }));
    const values = out.DimensionValues.map((v) => v.Value);
    for (const expected of ['USE1-Claude3Haiku-input-tokens', 'USE1-Claude3Haiku-output-tokens']) {
      assert.ok(values.includes(expected), `${expected} missing from ${JSON.stringify(values)}`);
    }
    assert.equal(out.ReturnSize, values.length);
    assert.equal(out.TotalSize, values.length);
  });

  test('GetCostForecast with under 7 days of history is DataUnavailableException', async () => {
    await rejectsWith(ce.send(new GetCostForecastCommand({
      TimePeriod: { Start: utcDate(0), End: utcDate(7) },
      Metric: 'UNBLENDED_COST',
      Granularity: 'DAILY',
    })), 'DataUnavailableException');
  });
});
