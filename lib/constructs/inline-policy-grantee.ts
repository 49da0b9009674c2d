/**
 * A role as a grantee whose grants land in one inline policy of the caller's choosing, not in the role's
 * default policy (aws-cdk-lib does the same for a table's replication policies). A construct that grants
 * rights to a role it does not own uses it so the rights live, and are reviewed, with that construct.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

export class InlinePolicyGrantee implements iam.IGrantable {
  public readonly grantPrincipal: iam.IPrincipal;
  /** The policy every grant to this grantee adds its statement to (attached to the role). */
  public readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, role: iam.IRole) {
    this.policy = new iam.Policy(scope, id);
    role.attachInlinePolicy(this.policy);
    this.grantPrincipal = new PolicyPrincipal(role, this.policy);
  }
}

/** The role's identity, with statements routed to one policy. */
class PolicyPrincipal extends iam.PrincipalBase {
  constructor(
    private readonly role: iam.IRole,
    private readonly policy: iam.Policy,
  ) {
    super();
  }

  public get policyFragment(): iam.PrincipalPolicyFragment {
    return this.role.policyFragment;
  }

  public addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }

  public dedupeString(): string | undefined {
    return undefined;
  }
}
