"""Drives boto3 against a running `entitle sandbox serve` seeded with the demo organisation.

boto3 validates every request against AWS's own service models, so this proves the emulator
speaks what another SDK sends. Run by tests/cli_sandbox.rs with AWS_ENDPOINT_URL pointing at
the emulator and dummy credentials; prints one line per check and `N passed, N failed` last.

Without arguments it runs the basic checks; with `lifecycle` it runs one check per lifecycle
setting with a wire effect (each check resets the emulator, then sets its settings through
`POST /_sandbox/settings`); with `cost_explorer` the Cost Explorer checks (usage recorded with
the `record_usage` admin route, read back with GetCostAndUsage); with `access` the checks of
Bedrock's control plane, IAM GetRole and the writes doctor --fix makes (Organizations
EnableAWSServiceAccess and RegisterDelegatedAdministrator, License Manager
UpdateServiceSettings); with `exports` a check made with nothing but the exports `entitle sandbox
serve` printed (no region, endpoint or credentials in code).
"""

import json
import os
import sys
import traceback
import urllib.request

import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
PRODUCT = "prod-mxcfnwvpd6kb4"
REGION = "us-east-1"


def client(name):
    return boto3.client(name, region_name=REGION)


def admin(action, **fields):
    """Calls the emulator's admin route, as the world outside the management account would act."""
    return sandbox_route("POST", action, fields)


def sandbox_route(method, route, body=None):
    """Any `/_sandbox/` route; JSON in, JSON out."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{ENDPOINT}/_sandbox/{route}", data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def the_license():
    licenses = client("license-manager").list_received_licenses(
        Filters=[{"Name": "IssuerName", "Values": ["AWS/Marketplace"]}])["Licenses"]
    matching = [license for license in licenses if license["ProductSKU"] == PRODUCT]
    assert len(matching) == 1, licenses
    return matching[0]


def check_listing_licenses():
    license = the_license()
    assert license["Status"] == "AVAILABLE", license["Status"]
    assert license["Issuer"]["Name"] == "AWS/Marketplace"
    allowed = license["ReceivedMetadata"]["AllowedOperations"]
    assert "CreateGrant" not in allowed and "CheckoutLicense" in allowed, allowed


def ou_by_path(organizations, path):
    parent = organizations.list_roots()["Roots"][0]
    for name in path.split("/"):
        units = organizations.list_organizational_units_for_parent(ParentId=parent["Id"])["OrganizationalUnits"]
        parent = next(unit for unit in units if unit["Name"] == name)
    return parent


def accounts_under(organizations, parent_id):
    found = []
    for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent_id):
        found += [account["Id"] for account in page["Accounts"]]
    for page in organizations.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent_id):
        for unit in page["OrganizationalUnits"]:
            found += accounts_under(organizations, unit["Id"])
    return found


def check_ou_grant_fans_out_to_each_account():
    organizations = client("organizations")
    license_manager = client("license-manager")
    license = the_license()
    unit = ou_by_path(organizations, "Workloads/ML")
    grant = license_manager.create_grant(
        ClientToken="boto3-check-ml-ou", GrantName="boto3-ml", LicenseArn=license["LicenseArn"],
        Principals=[unit["Arn"]], HomeRegion=REGION,
        AllowedOperations=["CheckoutLicense", "CheckInLicense"])
    assert grant["Version"] == "1", grant
    admin("settle-workflows")
    received, token = [], None
    while True:
        arguments = {"LicenseArn": license["LicenseArn"], "MaxResults": 5,
                     "Filters": [{"Name": "ParentArn", "Values": [grant["GrantArn"]]}]}
        if token:
            arguments["NextToken"] = token
        page = license_manager.list_received_grants_for_organization(**arguments)
        received += page["Grants"]
        token = page.get("NextToken")
        if not token:
            break
    grantees = sorted(g["GranteePrincipalArn"].split(":")[4] for g in received)
    expected = sorted(account for account in accounts_under(organizations, unit["Id"]))
    assert grantees == expected, (grantees, expected)
    assert all(g["ParentArn"] == grant["GrantArn"] for g in received)
    assert {g["GrantStatus"] for g in received} == {"DISABLED"}, {g["GrantStatus"] for g in received}


def check_organizations_pages_of_twenty():
    organizations = client("organizations")
    pages = list(organizations.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 20}))
    sizes = [len(page["Accounts"]) for page in pages]
    assert len(pages) >= 2 and max(sizes) <= 20, sizes
    ids = [account["Id"] for page in pages for account in page["Accounts"]]
    assert len(ids) == len(set(ids)) == 40, len(ids)
    try:
        organizations.list_accounts(MaxResults=21)
    except organizations.exceptions.InvalidInputException:
        pass
    else:
        raise AssertionError("MaxResults 21 was accepted")


def check_paths_parents_and_one_ou():
    """What entitle reads of the OUs a plan names (issue 16): Paths, Path, ListParents."""
    organizations = client("organizations")
    workloads = ou_by_path(organizations, "Workloads")
    ml = ou_by_path(organizations, "Workloads/ML")
    root = organizations.list_roots()["Roots"][0]["Id"]
    described = organizations.describe_organizational_unit(OrganizationalUnitId=ml["Id"])["OrganizationalUnit"]
    assert described["Name"] == "ML" and described["Arn"] == ml["Arn"], described
    assert described["Path"].endswith(f"/{root}/{workloads['Id']}/{ml['Id']}/"), described["Path"]
    parents = organizations.list_parents(ChildId=ml["Id"])["Parents"]
    assert parents == [{"Id": workloads["Id"], "Type": "ORGANIZATIONAL_UNIT"}], parents
    parents = organizations.list_parents(ChildId=workloads["Id"])["Parents"]
    assert parents == [{"Id": root, "Type": "ROOT"}], parents
    accounts = [a for page in organizations.get_paginator("list_accounts").paginate() for a in page["Accounts"]]
    pilot = next(a for a in accounts if a["Id"] == "111111111111")
    assert pilot["Paths"] == [described["Path"] + "111111111111/"], pilot["Paths"]
    assert all(len(a["Paths"]) == 1 and a["Paths"][0].endswith(f"/{a['Id']}/") for a in accounts)
    refused(organizations.describe_organizational_unit, "OrganizationalUnitNotFoundException",
            OrganizationalUnitId="ou-sbx0-nothere0")
    refused(organizations.list_parents, "ChildNotFoundException", ChildId="ou-sbx0-nothere0")


def check_search_agreements():
    marketplace = client("marketplace-agreement")
    summaries = marketplace.search_agreements(
        catalog="AWSMarketplace",
        filters=[{"name": "PartyType", "values": ["Acceptor"]},
                 {"name": "AgreementType", "values": ["PurchaseAgreement"]}])["agreementViewSummaries"]
    by_status = {summary["status"]: summary for summary in summaries}
    assert set(by_status) == {"ACTIVE", "CANCELLED"}, summaries
    active = by_status["ACTIVE"]
    assert active["proposalSummary"]["resources"][0]["id"] == PRODUCT, active
    entitlements = marketplace.get_agreement_entitlements(agreementId=active["agreementId"])
    assert entitlements is not None


# ---------------------------------------------------------------- lifecycle settings

MEMBER_ROLE = "OrganizationAccountAccessRole"


def fresh(**settings):
    """Back to the demo as the server started, grants settling at once, these settings on top."""
    sandbox_route("POST", "reset")
    return sandbox_route("POST", "settings", {"pending_workflow_reads": 0, **settings})


def assumed(account, session, service="license-manager"):
    """A client of `service` with credentials of the member role in `account`."""
    answer = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{MEMBER_ROLE}",
                                       RoleSessionName=session)
    credentials = answer["Credentials"]
    return boto3.client(service, region_name=REGION,
                        aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def account_grant(license_manager, account, token, operations=("CheckoutLicense",)):
    return license_manager.create_grant(
        ClientToken=token, GrantName=f"boto3-{account}", LicenseArn=the_license()["LicenseArn"],
        Principals=[f"arn:aws:iam::{account}:root"], HomeRegion=REGION,
        AllowedOperations=list(operations))


def status(license_manager, arn):
    return license_manager.get_grant(GrantArn=arn)["Grant"]["GrantStatus"]


def refused(call, code, **arguments):
    """Runs a call that must fail with `code`; returns the error message."""
    try:
        call(**arguments)
    except ClientError as error:
        assert error.response["Error"]["Code"] == code, error.response
        return error.response["Error"]["Message"]
    raise AssertionError(f"{call.__name__} was accepted")


def check_assume_role_session_and_identity():
    fresh()
    session = "boto3-check@entitle"
    sts = assumed("111111111111", session, "sts")
    identity = sts.get_caller_identity()
    assert identity["Account"] == "111111111111", identity
    assert identity["Arn"] == f"arn:aws:sts::111111111111:assumed-role/{MEMBER_ROLE}/{session}", identity
    message = refused(client("sts").assume_role, "AccessDenied",
                      RoleArn="arn:aws:iam::111111111111:role/NotAMemberRole", RoleSessionName="x-y")
    assert "is not authorized to perform: sts:AssumeRole" in message, message
    admin("remove_role", account_id="222222222222", role_name=MEMBER_ROLE)
    refused(client("sts").assume_role, "AccessDenied",
            RoleArn=f"arn:aws:iam::222222222222:role/{MEMBER_ROLE}", RoleSessionName="gone")


def check_member_accepts_then_grantor_activates():
    fresh(account_grant_acceptance="member")
    license_manager = client("license-manager")
    grant = account_grant(license_manager, "222222222222", "boto3-member-accepts")
    arn = grant["GrantArn"]
    assert status(license_manager, arn) == "PENDING_ACCEPT"
    message = refused(license_manager.create_grant_version, "ValidationException",
                      ClientToken="boto3-too-early", GrantArn=arn, Status="ACTIVE")
    assert "PENDING_ACCEPT" in message, message
    accepted = assumed("222222222222", "boto3-accept").accept_grant(GrantArn=arn)
    assert accepted["Status"] == "DISABLED", accepted
    activated = license_manager.create_grant_version(ClientToken="boto3-now", GrantArn=arn, Status="ACTIVE")
    assert activated["Status"] == "ACTIVE", activated


def check_activated_parent_shows_workflow_completed():
    fresh(activated_parent_status="workflow_completed")
    organizations = client("organizations")
    license_manager = client("license-manager")
    unit = ou_by_path(organizations, "Workloads/ML")
    grant = license_manager.create_grant(
        ClientToken="boto3-parent", GrantName="boto3-parent", LicenseArn=the_license()["LicenseArn"],
        Principals=[unit["Arn"]], HomeRegion=REGION, AllowedOperations=["CheckoutLicense"])
    activated = license_manager.create_grant_version(
        ClientToken="boto3-parent-on", GrantArn=grant["GrantArn"], Status="ACTIVE")
    assert activated["Status"] == "WORKFLOW_COMPLETED", activated
    assert status(license_manager, grant["GrantArn"]) == "WORKFLOW_COMPLETED"
    children = license_manager.list_received_grants_for_organization(
        LicenseArn=the_license()["LicenseArn"],
        Filters=[{"Name": "ParentArn", "Values": [grant["GrantArn"]]}])["Grants"]
    assert children and {child["GrantStatus"] for child in children} == {"ACTIVE"}, children


def check_pending_delete_then_deleted():
    fresh(pending_delete_millis=400)
    license_manager = client("license-manager")
    arn = account_grant(license_manager, "111111111111", "boto3-doomed")["GrantArn"]
    deleted = license_manager.delete_grant(GrantArn=arn, Version="1")
    assert deleted["Status"] == "PENDING_DELETE", deleted
    assert status(license_manager, arn) == "PENDING_DELETE"
    time.sleep(0.5)
    assert status(license_manager, arn) == "DELETED"


def check_own_subscription_refuses_activation():
    fresh()
    subscribed = admin("subscribe_account", account_id="111111111111", product_id=PRODUCT)
    assert subscribed["licenseArn"].startswith("arn:aws:license-manager::"), subscribed
    license_manager = client("license-manager")
    arn = account_grant(license_manager, "111111111111", "boto3-own")["GrantArn"]
    message = refused(license_manager.create_grant_version, "ValidationException",
                      ClientToken="boto3-own-on", GrantArn=arn, Status="ACTIVE")
    assert "You can't activate two licenses for the same product from AWS Marketplace" in message, message
    replaced = license_manager.create_grant_version(
        ClientToken="boto3-own-replace", GrantArn=arn, Status="ACTIVE",
        Options={"ActivationOverrideBehavior": "ALL_GRANTS_PERMITTED_BY_ISSUER"})
    assert replaced["Status"] == "ACTIVE", replaced
    own = [license for license in assumed("111111111111", "boto3-own").list_received_licenses()["Licenses"]
           if license["LicenseArn"] == subscribed["licenseArn"]]
    assert own[0]["ReceivedMetadata"]["ReceivedStatus"] == "DISABLED", own


def check_mismatch_wording():
    fresh(stale_version_message="mismatch")
    license_manager = client("license-manager")
    arn = account_grant(license_manager, "111111111111", "boto3-stale")["GrantArn"]
    message = refused(license_manager.delete_grant, "ValidationException", GrantArn=arn, Version="7")
    assert message == "Grant version mismatch: expected version 1, got 7", message


def check_eighth_allowed_operation():
    fresh()
    state = sandbox_route("GET", "state")
    license_arn = the_license()["LicenseArn"]
    state["licenses"][license_arn]["allowed_operations"].append("ListReceivedLicenses")
    sandbox_route("POST", "state", state)
    license_manager = client("license-manager")
    enum = license_manager.meta.service_model.shape_for("AllowedOperation").enum
    if "ListReceivedLicenses" not in enum:
        # An older botocore model: send it unvalidated, as a newer SDK would.
        license_manager = boto3.client("license-manager", region_name=REGION,
                                       config=Config(parameter_validation=False))
    grant = account_grant(license_manager, "111111111111", "boto3-eighth",
                          operations=("CheckoutLicense", "ListReceivedLicenses"))
    operations = license_manager.get_grant(GrantArn=grant["GrantArn"])["Grant"]["GrantedOperations"]
    assert "ListReceivedLicenses" in operations, operations


# ---------------------------------------------------------------- Cost Explorer

SERVICE = "Claude Sonnet 4.5 (Amazon Bedrock Edition)"
INPUT_TOKENS = "USE1-MP:USE1_InputTokenCount-Units"


def utc_today():
    import datetime
    return datetime.datetime.now(datetime.timezone.utc).date()


def all_pages(ce, **request):
    """Every page of one GetCostAndUsage request: `(start, keys) -> metrics`, and the pages."""
    cells, pages, token = {}, 0, None
    while True:
        answer = ce.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
        pages += 1
        for result in answer["ResultsByTime"]:
            for group in result["Groups"]:
                key = (result["TimePeriod"]["Start"], tuple(group["Keys"]))
                assert key not in cells, key
                cells[key] = group["Metrics"]
        token = answer.get("NextPageToken")
        if not token:
            return cells, pages


def check_cost_explorer_rates_groups_and_pages():
    fresh(cost_explorer_lag_days=0, cost_explorer_page_size=2)
    import datetime
    today = utc_today()
    yesterday = today - datetime.timedelta(days=1)
    usage = dict(product_id=PRODUCT, units=1000000)
    assert admin("record_usage", account_id="111111111111", date=str(yesterday), **usage)["rate"] == "list"
    grant = account_grant(client("license-manager"), "111111111111", "boto3-ce-pilot")
    admin("activate_grant", account_id="111111111111", grant_arn=grant["GrantArn"])
    assert admin("record_usage", account_id="111111111111", date=str(today), **usage)["rate"] == "private"
    assert admin("record_usage", account_id="222222222222", **usage)["rate"] == "list"
    assert admin("record_usage", account_id="100000000001", **usage)["rate"] == "private"
    ce = client("ce")
    request = dict(
        TimePeriod={"Start": str(yesterday), "End": str(today + datetime.timedelta(days=1))},
        Granularity="DAILY", Metrics=["UnblendedCost", "UsageQuantity"],
        Filter={"And": [{"Dimensions": {"Key": "BILLING_ENTITY", "Values": ["AWS Marketplace"]}},
                        {"Dimensions": {"Key": "SERVICE", "Values": [SERVICE]}}]},
        GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
                 {"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
    cells, pages = all_pages(ce, **request)
    assert pages == 2, pages
    cost = {key: metrics["UnblendedCost"]["Amount"] for key, metrics in cells.items()}
    assert cost == {
        (str(yesterday), ("111111111111", INPUT_TOKENS)): "3",
        (str(today), ("111111111111", INPUT_TOKENS)): "2.4",
        (str(today), ("222222222222", INPUT_TOKENS)): "3",
        (str(today), ("100000000001", INPUT_TOKENS)): "2.4",
    }, cost
    first = ce.get_cost_and_usage(**request)
    names = {item["Value"]: item["Attributes"]["description"] for item in first["DimensionValueAttributes"]}
    assert names.get("111111111111") == "ml-pilot-a", names
    changed = dict(request, Granularity="MONTHLY")
    refused(ce.get_cost_and_usage, "RequestChangedException", NextPageToken=first["NextPageToken"], **changed)
    # A member sees itself only.
    member = boto3.client("ce", region_name=REGION, aws_access_key_id="AKID222222222222",
                          aws_secret_access_key="sandbox-secret")
    mine, _ = all_pages(member, **request)
    assert list(mine) == [(str(today), ("222222222222", INPUT_TOKENS))], mine


def check_cost_explorer_rates_and_refusals():
    fresh(cost_explorer_lag_days=0)
    import datetime
    today = utc_today()
    rates = admin("set_rates", product_id=PRODUCT, list=0.00001, private=0.000005)
    assert rates["list"] == 0.00001, rates
    line = admin("record_usage", account_id="333333333333", product_id=PRODUCT, units=200000,
                 usage_type="USE1-MP:USE1_OutputTokenCount-Units")
    assert (line["rate"], line["cost"]) == ("list", 2.0), line
    ce = client("ce")
    window = {"Start": str(today - datetime.timedelta(days=3)), "End": str(today + datetime.timedelta(days=1))}
    monthly = ce.get_cost_and_usage(TimePeriod=window, Granularity="MONTHLY",
                                    Metrics=["UnblendedCost", "UsageQuantity"])
    total = sum(float(result["Total"]["UnblendedCost"]["Amount"]) for result in monthly["ResultsByTime"])
    assert total == 2.0, monthly
    assert monthly["ResultsByTime"][-1]["Estimated"] is True, monthly
    refused(ce.get_cost_and_usage, "ValidationException", TimePeriod=window, Granularity="DAILY",
            Metrics=["UnblendedCost"], GroupBy=[{"Type": "DIMENSION", "Key": key}
                                                for key in ("LINKED_ACCOUNT", "USAGE_TYPE", "SERVICE")])
    refused(ce.get_cost_and_usage, "ValidationException",
            TimePeriod={"Start": window["End"], "End": window["Start"]}, Granularity="DAILY",
            Metrics=["UnblendedCost"])
    refused(ce.get_cost_and_usage, "ValidationException", TimePeriod=window, Granularity="HOURLY",
            Metrics=["UnblendedCost"])
    refused(ce.get_cost_and_usage, "InvalidNextTokenException", TimePeriod=window, Granularity="DAILY",
            Metrics=["UnblendedCost"], GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
            NextPageToken="not-issued")


BASIC = [check_listing_licenses, check_ou_grant_fans_out_to_each_account,
         check_organizations_pages_of_twenty, check_paths_parents_and_one_ou, check_search_agreements]
LIFECYCLE = [check_assume_role_session_and_identity, check_member_accepts_then_grantor_activates,
             check_activated_parent_shows_workflow_completed, check_pending_delete_then_deleted,
             check_own_subscription_refuses_activation, check_mismatch_wording,
             check_eighth_allowed_operation]


COST_EXPLORER = [check_cost_explorer_rates_groups_and_pages, check_cost_explorer_rates_and_refusals]


# ---------------------------------------------------------------- access (Bedrock, IAM, fixes)

SONNET_4_5 = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def bedrock(region=REGION):
    return boto3.client("bedrock", region_name=region)


def availability(bedrock_client, model=SONNET_4_5):
    answer = bedrock_client.get_foundation_model_availability(modelId=model)
    assert answer["modelId"] == model, answer
    assert answer["authorizationStatus"] == "AUTHORIZED", answer
    return (answer["entitlementAvailability"], answer["agreementAvailability"]["status"],
            answer["regionAvailability"])


def check_bedrock_availability_follows_grants_and_regions():
    fresh()
    assert availability(bedrock()) == ("AVAILABLE", "AVAILABLE", "AVAILABLE")
    assert availability(bedrock("sa-east-1")) == ("AVAILABLE", "AVAILABLE", "NOT_AVAILABLE")
    member = "111111111111"
    member_bedrock = assumed(member, "boto3-verify", "bedrock")
    assert availability(member_bedrock) == ("NOT_AVAILABLE", "NOT_AVAILABLE", "AVAILABLE")
    license_manager = client("license-manager")
    arn = account_grant(license_manager, member, "boto3-bedrock")["GrantArn"]
    assert status(license_manager, arn) == "DISABLED"
    assumed(member, "boto3-activate").create_grant_version(
        ClientToken="boto3-bedrock-activate", GrantArn=arn, Status="ACTIVE")
    assert availability(member_bedrock) == ("AVAILABLE", "AVAILABLE", "AVAILABLE")
    # The admin action breaks this one account's entitlement whatever its grant, then restores.
    admin("break_availability", account_id=member, model_id=SONNET_4_5)
    assert availability(member_bedrock) == ("NOT_AVAILABLE", "AVAILABLE", "AVAILABLE")
    assert availability(bedrock()) == ("AVAILABLE", "AVAILABLE", "AVAILABLE")
    admin("break_availability", account_id=member, restore=True)
    assert availability(member_bedrock) == ("AVAILABLE", "AVAILABLE", "AVAILABLE")
    refused(bedrock().get_foundation_model_availability, "ResourceNotFoundException",
            modelId="anthropic.claude-unknown-v9:0")
    refused(bedrock().get_foundation_model_availability, "ValidationException",
            modelId="Not-A-Model")
    outsider = boto3.client("bedrock", region_name=REGION, aws_access_key_id="AKID999999999999",
                            aws_secret_access_key="sandbox-secret")
    refused(outsider.get_foundation_model_availability, "AccessDeniedException",
            modelId=SONNET_4_5)


def check_bedrock_use_case_form_is_inherited():
    fresh()
    seeded = bedrock().get_use_case_for_model_access()["formData"]
    assert b"companyName" in seeded, seeded
    member_bedrock = assumed("222222222222", "boto3-form", "bedrock")
    assert member_bedrock.get_use_case_for_model_access()["formData"] == seeded
    admin("remove_use_case_form")
    refused(member_bedrock.get_use_case_for_model_access, "ResourceNotFoundException")
    refused(bedrock().get_use_case_for_model_access, "ResourceNotFoundException")
    form = json.dumps({"companyName": "Acme", "companyWebsite": "https://acme.example",
                       "intendedUsers": "0", "industryOption": "Retail",
                       "otherIndustryOption": "", "useCases": "support"}).encode()
    answer = bedrock().put_use_case_for_model_access(formData=form)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 201, answer
    assert member_bedrock.get_use_case_for_model_access()["formData"] == form
    refused(bedrock().put_use_case_for_model_access, "ValidationException", formData=b"short")


def check_iam_get_role():
    fresh()
    iam = client("iam")
    for name, path in [("AWSServiceRoleForAWSLicenseManagerRole",
                        "/aws-service-role/license-manager.amazonaws.com/"),
                       ("AWSServiceRoleForMarketplaceLicenseManagement",
                        "/aws-service-role/license-management.marketplace.amazonaws.com/")]:
        role = iam.get_role(RoleName=name)["Role"]
        assert role["Path"] == path, role
        assert role["Arn"] == f"arn:aws:iam::100000000001:role{path}{name}", role
        assert "sts:AssumeRole" in json.dumps(role["AssumeRolePolicyDocument"]), role
    admin("remove_role", account_id="100000000001",
          role_name="AWSServiceRoleForMarketplaceLicenseManagement")
    message = refused(iam.get_role, "NoSuchEntity",
                      RoleName="AWSServiceRoleForMarketplaceLicenseManagement")
    assert "cannot be found" in message, message
    member_iam = assumed("111111111111", "boto3-iam", "iam")
    assert member_iam.get_role(RoleName=MEMBER_ROLE)["Role"]["Path"] == "/"
    # STS still answers next to IAM.
    assert client("sts").get_caller_identity()["Account"] == "100000000001"


def check_doctor_fix_writes():
    fresh()
    admin("break_prerequisites")
    organizations = client("organizations")
    license_manager = client("license-manager")
    enabled = organizations.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert "license-manager.amazonaws.com" not in [e["ServicePrincipal"] for e in enabled]
    assert not license_manager.get_service_settings()["OrganizationConfiguration"][
        "EnableIntegration"]
    refused(organizations.register_delegated_administrator, "ConstraintViolationException",
            AccountId="100000000012", ServicePrincipal="license-manager.amazonaws.com")
    for principal in ["license-manager.amazonaws.com",
                      "license-management.marketplace.amazonaws.com"]:
        organizations.enable_aws_service_access(ServicePrincipal=principal)
    enabled = []
    for page in organizations.get_paginator("list_aws_service_access_for_organization").paginate():
        enabled += [entry["ServicePrincipal"] for entry in page["EnabledServicePrincipals"]]
    assert "license-management.marketplace.amazonaws.com" in enabled, enabled
    organizations.register_delegated_administrator(
        AccountId="100000000012", ServicePrincipal="license-manager.amazonaws.com")
    admins = organizations.list_delegated_administrators(
        ServicePrincipal="license-manager.amazonaws.com")["DelegatedAdministrators"]
    assert [entry["Id"] for entry in admins] == ["100000000012"], admins
    refused(organizations.register_delegated_administrator, "AccountAlreadyRegisteredException",
            AccountId="100000000012", ServicePrincipal="license-manager.amazonaws.com")
    refused(organizations.register_delegated_administrator, "AccountNotFoundException",
            AccountId="999999999999", ServicePrincipal="license-manager.amazonaws.com")
    license_manager.update_service_settings(
        OrganizationConfiguration={"EnableIntegration": True})
    assert license_manager.get_service_settings()["OrganizationConfiguration"][
        "EnableIntegration"]
    refused(assumed("111111111111", "boto3-settings").update_service_settings,
            "AccessDeniedException", OrganizationConfiguration={"EnableIntegration": False})


ACCESS = [check_bedrock_availability_follows_grants_and_regions,
          check_bedrock_use_case_form_is_inherited, check_iam_get_role, check_doctor_fix_writes]


def check_printed_exports_alone():
    """Clients made with nothing but the environment `entitle sandbox serve` printed: no region,
    endpoint or credentials passed in code (boto3 reads AWS_DEFAULT_REGION, not AWS_REGION)."""
    session = boto3.session.Session()
    assert session.region_name == "us-east-1", session.region_name
    organization = boto3.client("organizations").describe_organization()["Organization"]
    assert organization["MasterAccountId"] == "100000000001", organization
    caller = boto3.client("sts").get_caller_identity()
    assert caller["Account"] == "100000000001", caller
    licenses = boto3.client("license-manager").list_received_licenses()["Licenses"]
    assert any(PRODUCT == entry.get("ProductSKU") for entry in licenses), licenses


EXPORTS = [check_printed_exports_alone]


def main():
    checks = LIFECYCLE if sys.argv[1:] == ["lifecycle"] else BASIC
    if sys.argv[1:] == ["exports"]:
        checks = EXPORTS
    if sys.argv[1:] == ["cost_explorer"]:
        checks = COST_EXPLORER
    if sys.argv[1:] == ["access"]:
        checks = ACCESS
    passed = failed = 0
    for check in checks:
        try:
            check()
            passed += 1
            print(f"ok {check.__name__}")
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAILED {check.__name__}")
            traceback.print_exc(file=sys.stdout)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
