"""The gateway's other AWS dependencies: who it runs as (STS), which models the region offers (the Bedrock control
plane), and where usage is kept (a DynamoDB table, one item per priced call).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

LEDGER_KEY = [{"AttributeName": "tenant", "KeyType": "HASH"}, {"AttributeName": "entry", "KeyType": "RANGE"}]
LEDGER_ATTRIBUTES = [
    {"AttributeName": "tenant", "AttributeType": "S"},
    {"AttributeName": "entry", "AttributeType": "S"},
]


def caller_identity(sts: Any) -> str:
    """The ARN the gateway runs as: checked once at start-up, so bad credentials fail early and clearly."""
    return str(sts.get_caller_identity()["Arn"])


def available_models(bedrock: Any) -> set[str]:
    """Model ids the region offers for on-demand text output (Bedrock control plane ``ListFoundationModels``)."""
    summaries = bedrock.list_foundation_models(byOutputModality="TEXT")["modelSummaries"]
    return {m["modelId"] for m in summaries if "ON_DEMAND" in m.get("inferenceTypesSupported", ["ON_DEMAND"])}


class DynamoLedgerStore:
    """Usage entries in a DynamoDB table: ``PutItem`` per priced call, ``Query`` per tenant and month."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self._seq = 0

    def create_table(self) -> None:
        """Create the ledger table (on-demand billing) and wait until it can take writes."""
        self.dynamodb.create_table(
            TableName=self.table,
            KeySchema=LEDGER_KEY,
            AttributeDefinitions=LEDGER_ATTRIBUTES,
            BillingMode="PAY_PER_REQUEST",
        )

    async def put(self, tenant: str, month: str, provider: str, model: str, tokens: int, usd: float) -> None:
        """One item per call; the sort key orders a tenant's entries within a month."""
        self._seq += 1
        item = {
            "tenant": {"S": tenant},
            "entry": {"S": f"{month}#{self._seq:06d}"},
            "provider": {"S": provider},
            "model": {"S": model},
            "tokens": {"N": str(tokens)},
            "usd": {"N": str(Decimal(str(round(usd, 12))))},
        }
        await asyncio.to_thread(self.dynamodb.put_item, TableName=self.table, Item=item)

    async def monthly_spend(self, tenant: str, month: str) -> float:
        """USD a tenant spent in a month (``YYYY-MM``), summed from its entries."""
        out = await asyncio.to_thread(
            self.dynamodb.query,
            TableName=self.table,
            KeyConditionExpression="tenant = :t AND begins_with(entry, :m)",
            ExpressionAttributeValues={":t": {"S": tenant}, ":m": {"S": f"{month}#"}},
        )
        return float(sum(Decimal(item["usd"]["N"]) for item in out["Items"]))
