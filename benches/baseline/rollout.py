#!/usr/bin/env python3
"""The usual alternative to entitle: a plain, sequential boto3 rollout.

This is what AWS's public samples and most teams write to share a Marketplace license with every
account of an organisation: list the accounts, then, one account after the other, CreateGrant
and CreateGrantVersion(Status=ACTIVE). It is kept deliberately ordinary (see README.md here): no
concurrency, no idempotent client tokens, one grant per account, the SDK's paginator, and a
simple exponential backoff on any error.

    rollout.py --endpoint URL --license-arn ARN [--limit N] rollout
    rollout.py --endpoint URL --license-arn ARN [--limit N] cleanup
    rollout.py --endpoint URL --license-arn ARN list      (what it knows of the organisation)

Credentials come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); the region
is us-east-1. At the end ONE JSON object is printed on stdout; progress goes to stderr.
"""

import argparse
import json
import sys
import time
import uuid
from collections import Counter

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REGION = "us-east-1"
ALLOWED_OPERATIONS = [
    "CheckoutLicense",
    "CheckInLicense",
    "ExtendConsumptionLicense",
    "ListPurchasedLicenses",
    "CreateToken",
]
MAX_ATTEMPTS = 5  # per call: sleep 1 s, 2 s, 4 s, 8 s between them, then give up
PENDING_WORKFLOW_POLLS = 30  # 1 s apart: how long we wait for a new grant's workflow
THROTTLE_CODES = {
    "RateLimitExceededException",  # License Manager
    "TooManyRequestsException",  # Organizations
    "ThrottlingException",
    "Throttling",
}

# Botocore's own retries are switched off (one attempt per call) so that the backoff below is
# the only retry logic that runs, and every attempt is visible in our counts. `total_max_attempts`
# counts the first attempt; `max_attempts` (used here at first) counts only retries, so `1` let
# botocore retry every throttled call once, below these counts (the emulator's showed it).
CONFIG = Config(region_name=REGION, retries={"total_max_attempts": 1, "mode": "standard"})

api_calls = Counter()  # "Service.Operation" -> HTTP calls made, attempts included
errors = Counter()  # error code -> error answers received, attempts included


def count_call(event_name, **_kwargs):
    # event_name is "before-call.<service-id>.<Operation>"; one event per attempt because
    # botocore does not retry (max_attempts 1).
    _, service, operation = event_name.split(".", 2)
    service = {"organizations": "Organizations", "license-manager": "LicenseManager"}.get(
        service, service
    )
    api_calls[f"{service}.{operation}"] += 1


def client(name, endpoint):
    c = boto3.client(name, endpoint_url=endpoint, config=CONFIG)
    c.meta.events.register("before-call.*.*", count_call)
    return c


def error_code(exc):
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") or "ClientError"
    return type(exc).__name__  # connection dropped, timeout, ...


def log(message):
    print(message, file=sys.stderr, flush=True)


class Failed(Exception):
    """A call still failed after MAX_ATTEMPTS; carries the last error code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def with_backoff(what, fn):
    """Calls fn(); on any error sleeps 1 s, 2 s, 4 s, ... and tries again, MAX_ATTEMPTS in all."""
    delay = 1.0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return fn()
        except (ClientError, BotoCoreError) as exc:
            code = error_code(exc)
            errors[code] += 1
            if attempt == MAX_ATTEMPTS:
                raise Failed(code, f"{what}: {exc}") from exc
            log(f"{what}: {code}, retrying in {delay:g} s")
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def list_member_accounts(org):
    """Every ACTIVE account except the management account, via the ListAccounts paginator."""
    management = with_backoff(
        "DescribeOrganization", lambda: org.describe_organization()
    )["Organization"]["MasterAccountId"]
    paginator = org.get_paginator("list_accounts")
    accounts, seen, token = [], 0, None
    current = {"pages": None}

    def next_page():
        # A failed page ends the paginator's generator, so after an error we start a new one
        # from the last NextToken (PaginationConfig StartingToken).
        if current["pages"] is None:
            config = {"StartingToken": token} if token else {}
            current["pages"] = iter(paginator.paginate(PaginationConfig=config))
        try:
            return next(current["pages"])
        except Exception:
            current["pages"] = None
            raise

    while True:
        page = with_backoff("ListAccounts", next_page)
        for account in page["Accounts"]:
            seen += 1
            state = account.get("State") or account.get("Status")
            if account["Id"] != management and state == "ACTIVE":
                accounts.append(account["Id"])
        token = page.get("NextToken")
        if not token:
            return seen, accounts


def grant_account(lm, license_arn, account):
    """CreateGrant then CreateGrantVersion(ACTIVE) for one account. Raises Failed."""
    created = with_backoff(
        f"CreateGrant {account}",
        lambda: lm.create_grant(
            ClientToken=str(uuid.uuid1()),  # time-based, new for every attempt, as samples do
            GrantName=f"baseline-{account}",
            LicenseArn=license_arn,
            Principals=[f"arn:aws:iam::{account}:root"],
            HomeRegion=REGION,
            AllowedOperations=ALLOWED_OPERATIONS,
        ),
    )
    grant_arn, version = created["GrantArn"], created["Version"]
    for _ in range(PENDING_WORKFLOW_POLLS):
        try:
            return with_backoff_unless_pending(
                f"CreateGrantVersion {account}",
                lambda: lm.create_grant_version(
                    ClientToken=str(uuid.uuid4()),
                    GrantArn=grant_arn,
                    Status="ACTIVE",
                    SourceVersion=version,
                ),
            )
        except StillPending:
            # The grant's workflow has not finished: wait a second, look at the grant again
            # (its status and current version) and retry, as the samples do.
            time.sleep(1.0)
            grant = with_backoff(
                f"GetGrant {account}", lambda: lm.get_grant(GrantArn=grant_arn)
            )["Grant"]
            version = grant["Version"]
    raise Failed("PendingWorkflowTimeout", f"{grant_arn} still PENDING_WORKFLOW")


class StillPending(Exception):
    pass


pending_refusals = 0


def with_backoff_unless_pending(what, fn):
    """with_backoff, except that 'grant is still PENDING_WORKFLOW' is handed back at once."""

    def attempt():
        global pending_refusals
        try:
            return fn()
        except ClientError as exc:
            if error_code(exc) == "ValidationException" and "PENDING_WORKFLOW" in str(exc):
                errors["ValidationException"] += 1
                pending_refusals += 1
                raise StillPending() from exc
            raise

    return with_backoff(what, attempt)


def rollout(args, result):
    org = client("organizations", args.endpoint)
    lm = client("license-manager", args.endpoint)
    seen, accounts = list_member_accounts(org)
    result["accounts_seen"] = seen
    if args.limit is not None:
        accounts = accounts[: args.limit]
    log(f"{seen} accounts listed, {len(accounts)} to grant")
    for index, account in enumerate(accounts, 1):
        try:
            grant_account(lm, args.license_arn, account)
            result["grants_done"] += 1
        except Failed as failure:
            result["failed"] += 1
            result["failures"][failure.code] += 1
            if failure.code not in THROTTLE_CODES and result["first_error_after"] is None:
                result["first_error_after"] = result["grants_done"]
            log(f"account {account} failed: {failure}")
        if index % 50 == 0:
            log(f"{index}/{len(accounts)} accounts, {result['grants_done']} granted")


def list_only(args, result):
    org = client("organizations", args.endpoint)
    seen, accounts = list_member_accounts(org)
    result["accounts_seen"] = seen
    log(f"{seen} accounts listed, {len(accounts)} members")


def cleanup(args, result):
    lm = client("license-manager", args.endpoint)
    grants, token = [], None
    while True:  # boto3 has no paginator for ListDistributedGrants: NextToken by hand
        kwargs = {"Filters": [{"Name": "LicenseArn", "Values": [args.license_arn]}]}
        if token:
            kwargs["NextToken"] = token
        page = with_backoff(
            "ListDistributedGrants", lambda: lm.list_distributed_grants(**kwargs)
        )
        grants.extend(page.get("Grants", []))
        token = page.get("NextToken")
        if not token:
            break
    grants = [g for g in grants if g["GrantStatus"] != "DELETED"]
    if args.limit is not None:
        grants = grants[: args.limit]
    result["accounts_seen"] = len(grants)
    log(f"{len(grants)} grants to delete")
    for grant in grants:
        try:
            with_backoff(
                f"DeleteGrant {grant['GrantArn']}",
                lambda: lm.delete_grant(GrantArn=grant["GrantArn"], Version=grant["Version"]),
            )
            result["grants_done"] += 1
        except Failed as failure:
            result["failed"] += 1
            result["failures"][failure.code] += 1
            if failure.code not in THROTTLE_CODES and result["first_error_after"] is None:
                result["first_error_after"] = result["grants_done"]
            log(f"{failure}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", required=True, help="endpoint_url of every client")
    parser.add_argument("--license-arn", required=True)
    parser.add_argument(
        "--limit", type=int, help="stop after N accounts (rollout) or N grants (cleanup)"
    )
    parser.add_argument("mode", choices=["rollout", "cleanup", "list"])
    args = parser.parse_args()

    result = {
        "mode": args.mode,
        "accounts_seen": 0,  # cleanup: grants listed (not DELETED)
        "grants_done": 0,
        "failed": 0,
        "errors": {},
        "first_error_after": None,
        "wall_seconds": 0.0,
        "api_calls": {},
        # Beyond the agreed fields: what made accounts fail, and how often CreateGrantVersion
        # was refused because the new grant was still PENDING_WORKFLOW (those refusals are
        # also counted under errors.ValidationException).
        "failures": Counter(),
        "pending_workflow_refusals": 0,
    }
    start = time.monotonic()
    status = 0
    try:
        {"rollout": rollout, "cleanup": cleanup, "list": list_only}[args.mode](args, result)
    except Failed as failure:  # listing failed for good: nothing more can be done
        result["failures"][failure.code] += 1
        log(f"aborted: {failure}")
        status = 1
    result["wall_seconds"] = round(time.monotonic() - start, 3)
    result["errors"] = dict(sorted(errors.items()))
    result["api_calls"] = dict(sorted(api_calls.items()))
    result["failures"] = dict(sorted(result["failures"].items()))
    result["pending_workflow_refusals"] = pending_refusals
    print(json.dumps(result))
    return status


if __name__ == "__main__":
    sys.exit(main())
