// End-to-end: the AWS SDK for JavaScript v3 Budgets client (@aws-sdk/client-budgets, pinned in
// test/e2e/package-lock.json) against the real tollgate binary: a COST budget filtered by a tag as AWS
// writes it (user:team$growth) whose ActualSpend is, to the nano-dollar, the cost of the calls made
// through the tagged profile (read from each answer's x-tollgate-cost-usd header); notifications whose
// state follows that spend; the Budgets errors for bad input; a budget tagged tollgate:enforcement that
// refuses the calls that could cross its limit.
//
// Run: TOLLGATE_BINARY=build/tollgate node --test test/e2e/js/budgets.test.mjs
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
const { CostExplorerClient, UpdateCostAllocationTagsStatusCommand } = await import('@aws-sdk/client-cost-explorer');
const {
  BudgetsClient,
  CreateBudgetCommand,
  CreateNotificationCommand,
  DeleteBudgetCommand,
  DescribeBudgetCommand,
  DescribeBudgetsCommand,
  DescribeNotificationsForBudgetCommand,
  ListTagsForResourceCommand,
  UntagResourceCommand,
} = await import('@aws-sdk/client-budgets');

const scratch = isolateAwsEnvironment();

const ACCOUNT = '123456789012';
const HAIKU_ARN = `arn:aws:bedrock:${REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0`;
const COST_HEADER = 'x-tollgate-cost-usd';

/** nano-USD → the shortest exact decimal text. */
function usd(nano) {
  const whole = nano / 1_000_000_000n;
  const fraction = (nano % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

const notification = (threshold) => ({
  NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: threshold, ThresholdType: 'PERCENTAGE',
});

describe('Budgets (AWS SDK for JavaScript v3) over usage made through tollgate', () => {
  let gateway;
  let control;
  let runtime;
  let budgets;
  let profileArn;
  let spent = 0n;
  const lastCost = { value: undefined };

  before(async () => {
    gateway = await startGateway({ config: E2E_CONFIG });
    control = new BedrockClient(clientConfig(gateway.endpoint));
    runtime = new BedrockRuntimeClient(clientConfig(gateway.endpoint));
    budgets = new BudgetsClient(clientConfig(gateway.endpoint));
    runtime.middlewareStack.add((next) => async (args) => {
      const result = await next(args);
      lastCost.value = result.response?.headers?.[COST_HEADER];
      return result;
    }, { step: 'deserialize', name: 'captureTollgateCost' });
    const created = await control.send(new CreateInferenceProfileCommand({
      inferenceProfileName: 'js-budgets-bot', modelSource: { copyFrom: HAIKU_ARN },
      tags: [{ key: 'team', value: 'growth' }],
    }));
    profileArn = created.inferenceProfileArn;
    const ce = new CostExplorerClient(clientConfig(gateway.endpoint));
    await ce.send(new UpdateCostAllocationTagsStatusCommand({
      CostAllocationTagsStatus: [{ TagKey: 'team', Status: 'Active' }],
    }));
    ce.destroy();
  });

  after(async () => {
    control?.destroy();
    runtime?.destroy();
    budgets?.destroy();
    rmSync(scratch, { recursive: true, force: true });
    if (gateway) assert.equal(await gateway.stop(), 0, `tollgate should exit 0 on SIGTERM\n${gateway.logs()}`);
  });

  async function converse(text) {
    await runtime.send(new ConverseCommand({ modelId: profileArn, messages: [{ role: 'user', content: [{ text }] }] }));
    spent += nanoUsd(lastCost.value);
  }

  const describe_ = async (name) =>
    (await budgets.send(new DescribeBudgetCommand({ AccountId: ACCOUNT, BudgetName: name }))).Budget;

  test('a tag-filtered budget spends exactly what the calls through the profile cost, at once', async () => {
    await budgets.send(new CreateBudgetCommand({
      AccountId: ACCOUNT,
      Budget: {
        BudgetName: 'growth', BudgetLimit: { Amount: '100', Unit: 'USD' }, TimeUnit: 'MONTHLY', BudgetType: 'COST',
        CostFilters: { TagKeyValue: ['user:team$growth'] },
      },
    }));
    assert.equal((await describe_('growth')).CalculatedSpend.ActualSpend.Amount, '0');
    await converse('How much does this cost?');
    await converse('And this one?');
    const budget = await describe_('growth');
    assert.equal(nanoUsd(budget.CalculatedSpend.ActualSpend.Amount), spent);
    assert.equal(budget.CalculatedSpend.ActualSpend.Unit, 'USD');
    assert.ok(budget.TimePeriod.Start instanceof Date, 'TimePeriod.Start is a timestamp');
    assert.ok(budget.LastUpdatedTime instanceof Date, 'LastUpdatedTime is a timestamp');
  });

  test('a notification is in ALARM once the spend crosses its threshold', async () => {
    // A limit of twice the spend: a 40% threshold is crossed, a 60% one is not.
    await budgets.send(new CreateBudgetCommand({
      AccountId: ACCOUNT,
      Budget: {
        BudgetName: 'twice', BudgetLimit: { Amount: usd(spent * 2n), Unit: 'USD' }, TimeUnit: 'MONTHLY',
        BudgetType: 'COST', FilterExpression: { Dimensions: { Key: 'RESOURCE_ID', Values: [profileArn] } },
      },
      NotificationsWithSubscribers: [{
        Notification: notification(40), Subscribers: [{ SubscriptionType: 'EMAIL', Address: 'fin@example.com' }],
      }],
    }));
    await budgets.send(new CreateNotificationCommand({
      AccountId: ACCOUNT, BudgetName: 'twice', Notification: notification(60),
      Subscribers: [{ SubscriptionType: 'EMAIL', Address: 'fin@example.com' }],
    }));
    const { Notifications } = await budgets.send(
      new DescribeNotificationsForBudgetCommand({ AccountId: ACCOUNT, BudgetName: 'twice' }));
    const states = Object.fromEntries(Notifications.map((n) => [n.Threshold, n.NotificationState]));
    assert.deepEqual(states, { 40: 'ALARM', 60: 'OK' });
  });

  test('bad input gets the Budgets errors and changes nothing', async () => {
    await rejectsWith(budgets.send(new CreateBudgetCommand({
      AccountId: ACCOUNT,
      Budget: { BudgetName: 'growth', BudgetLimit: { Amount: '5', Unit: 'USD' }, TimeUnit: 'MONTHLY', BudgetType: 'COST' },
    })), 'DuplicateRecordException');
    assert.equal((await describe_('growth')).BudgetLimit.Amount, '100');
    await rejectsWith(budgets.send(new CreateBudgetCommand({
      AccountId: ACCOUNT,
      Budget: {
        BudgetName: 'broken', BudgetLimit: { Amount: '5', Unit: 'USD' }, TimeUnit: 'MONTHLY', BudgetType: 'COST',
        CostFilters: { TagKeyValue: ['no-dollar-sign'] },
      },
    })), 'InvalidParameterException');
    await rejectsWith(budgets.send(new DescribeBudgetCommand({ AccountId: ACCOUNT, BudgetName: 'broken' })),
      'NotFoundException');
    await rejectsWith(budgets.send(new DeleteBudgetCommand({ AccountId: ACCOUNT, BudgetName: 'never-made' })),
      'NotFoundException');
    const { Budgets } = await budgets.send(new DescribeBudgetsCommand({ AccountId: ACCOUNT }));
    assert.deepEqual(Budgets.map((b) => b.BudgetName), ['growth', 'twice']);
  });

  test('a budget tagged tollgate:enforcement refuses the calls that could cross its limit', async () => {
    const enforce = [{ Key: 'tollgate:enforcement', Value: 'block' }];
    await budgets.send(new CreateBudgetCommand({
      AccountId: ACCOUNT,
      Budget: {
        BudgetName: 'blocking', BudgetLimit: { Amount: usd(spent + 1n), Unit: 'USD' }, TimeUnit: 'MONTHLY',
        BudgetType: 'COST', FilterExpression: { Dimensions: { Key: 'RESOURCE_ID', Values: [profileArn] } },
      },
      ResourceTags: enforce,
    }));
    const arn = `arn:aws:budgets::${ACCOUNT}:budget/blocking`;
    assert.deepEqual((await budgets.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).ResourceTags, enforce);
    const refused = await converse('One more?').then(() => assert.fail('the call should be refused'), (e) => e);
    assert.equal(refused.name, 'AccessDeniedException', refused.message);
    assert.equal(refused.$metadata?.httpStatusCode, 403);
    assert.match(refused.message, /Budget 'blocking' blocks this request/);
    assert.equal(nanoUsd((await describe_('blocking')).CalculatedSpend.ActualSpend.Amount), spent,
      'a refused call costs nothing');
    await budgets.send(new UntagResourceCommand({ ResourceARN: arn, ResourceTagKeys: ['tollgate:enforcement'] }));
    await converse('Now it only alerts.');
    assert.equal(nanoUsd((await describe_('blocking')).CalculatedSpend.ActualSpend.Amount), spent);
  });
});
