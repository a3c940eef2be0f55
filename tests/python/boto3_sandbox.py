"""Drives boto3 against a running `entitle sandbox serve` seeded with the demo organisation.

boto3 validates every request against AWS's own service models, so this proves the emulator
speaks what another SDK sends. Run by tests/sandbox_boto3.rs with AWS_ENDPOINT_URL pointing at
the emulator and dummy credentials; prints one line per check and `N passed, N failed` last.
"""

import json
import os
import sys
import traceback
import urllib.request

import boto3

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
PRODUCT = "prod-mxcfnwvpd6kb4"
REGION = "us-east-1"


def client(name):
    return boto3.client(name, region_name=REGION)


def admin(action, **fields):
    """Calls the emulator's admin route, as the world outside the management account would act."""
    body = json.dumps(fields).encode()
    request = urllib.request.Request(f"{ENDPOINT}/_sandbox/{action}", data=body, method="POST",
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


def main():
    checks = [check_listing_licenses, check_ou_grant_fans_out_to_each_account,
              check_organizations_pages_of_twenty, check_search_agreements]
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
