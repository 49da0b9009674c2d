/**
 * An AWS WAF web ACL (REGIONAL) on the API's stage: a rate-based rule that blocks an IP address making
 * more than `rateLimit` requests in 5 minutes (answered 429 `THROTTLED` in the contract's error body), and,
 * by default, AWS's managed common and known-bad-inputs rule sets. Blocked and counted requests are logged
 * to a log group of their own, with the key and token headers redacted.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-aws-waf.html
 */
import { ArnFormat, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { AUTHORIZATION_HEADER } from '../../contract/auth';
import { ERROR_STATUS } from '../../contract/errors';
import { API_KEY_HEADER } from '../../contract/routes';

export interface ApiWebAclProps {
  /** The stage the web ACL protects. */
  readonly stage: apigw.Stage;
  /** Requests one IP address may make in 5 minutes before it is blocked (100 to 2,000,000,000). */
  readonly rateLimit: number;
  /**
   * Add AWS's managed common rule set and known-bad-inputs rule set. The common set's 8 KB body limit is
   * set to count only: model inputs are larger (API Gateway takes up to 10 MB).
   * @default true
   */
  readonly managedRules?: boolean;
  /** Retention of the web ACL's log of blocked and counted requests. */
  readonly logRetention: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The rate window of the rate-based rule: API Gateway's documentation speaks of requests per 5 minutes. */
const RATE_WINDOW_SECONDS = 300;

export class ApiWebAcl extends Construct {
  public readonly webAcl: wafv2.CfnWebACL;
  /** Blocked and counted requests (`aws-waf-logs-…`, the prefix WAF requires). */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiWebAclProps) {
    super(scope, id);
    const { rateLimit } = props;
    if (!Token.isUnresolved(rateLimit) && !(Number.isInteger(rateLimit) && rateLimit >= 100 && rateLimit <= 2_000_000_000))
      throw new Error(`ApiWebAcl: \`rateLimit\` must be a whole number from 100 to 2000000000 (requests per 5 minutes); got ${rateLimit}.`);
    const metric = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: name,
      sampledRequestsEnabled: true,
    });
    const managed = (name: string, priority: number, overrides: string[] = []): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ruleActionOverrides: overrides.length ? overrides.map((rule) => ({ name: rule, actionToUse: { count: {} } })) : undefined,
        },
      },
      visibilityConfig: metric(name),
    });
    const name = Names.uniqueResourceName(this, { maxLength: 100 });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'mlship inference API: per-IP rate limit and managed rules',
      defaultAction: { allow: {} },
      visibilityConfig: metric(name),
      customResponseBodies: {
        throttled: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({
            error: {
              code: 'THROTTLED',
              message: `Too many requests from this address (more than ${rateLimit} in 5 minutes); retry later.`,
            },
          }),
        },
      },
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: { block: { customResponse: { responseCode: ERROR_STATUS.THROTTLED, customResponseBodyKey: 'throttled' } } },
          statement: { rateBasedStatement: { limit: rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: RATE_WINDOW_SECONDS } },
          visibilityConfig: metric('RateLimitPerIp'),
        },
        ...((props.managedRules ?? true)
          ? [managed('AWSManagedRulesCommonRuleSet', 1, ['SizeRestrictions_BODY']), managed('AWSManagedRulesKnownBadInputsRuleSet', 2)]
          : []),
      ],
    });
    // The stage's ARN refers to the stage (a Ref): the association waits for it, as WAF needs.
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    // WAF writes only to log groups named aws-waf-logs-*: the one physical name here, made unique by the path.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `aws-waf-logs-${Stack.of(this).stackName}-${Names.uniqueId(this).slice(-8)}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // The group's ARN without the `:*` that CloudFormation's Arn attribute ends with: WAF refuses that form.
      logDestinationConfigs: [
        Stack.of(this).formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: this.logGroup.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      // The keys and tokens callers send never reach the log.
      redactedFields: [{ singleHeader: { Name: API_KEY_HEADER } }, { singleHeader: { Name: AUTHORIZATION_HEADER } }],
      // Allowed requests are in the API's access log already: keep what WAF blocked or counted.
      loggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
          },
        ],
      },
    });
  }
}
