"""An account with readings of known values, stored through the real ingest route, for the
readings query, latest and aggregates tests (imported as a fixture by each module)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.cloud.conftest import START
from tests.cloud.test_ingest import post
from tests.peers.cloud import Account, CloudServer, RegisteredGateway

METERS = ("m1", "m2", "m3")  # on gateway one, builtin:modbus-power-meter
OTHER_METER = "m4"  # on gateway two, same type
THERMOMETER = "t1"  # on gateway two, the account's own type (a temperature register)


@dataclass
class Sent:
    """One reading as sent: what the tests compute their expectations from."""

    gateway_id: str
    seq: int
    source: str
    second: float
    values: dict[str, Any]

    @property
    def time(self) -> str:
        return (START + timedelta(seconds=self.second)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @property
    def key(self) -> tuple[str, int]:
        return self.gateway_id, self.seq


@dataclass
class Seeded:
    account: Account
    token: str
    one: RegisteredGateway
    two: RegisteredGateway
    thermometer_type: str
    sent: list[Sent]

    def send(self, cloud: CloudServer, gateway: RegisteredGateway, batch: list[Sent]) -> None:
        body = {
            "format": "edgeward.batch",
            "version": 1,
            "gateway_id": gateway.id,
            "readings": [
                {"seq": r.seq, "source": r.source, "time": r.time, "values": r.values}
                for r in batch
            ],
        }
        response = post(cloud, gateway.credential, json.dumps(body).encode())
        assert response.status_code == 200, response.text
        assert response.json()["stored"] == len(batch)
        self.sent += batch


def meter_values(rng: random.Random, index: int, source: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "power": round(rng.uniform(-50, 900), 3),
        "voltage": round(rng.uniform(220, 240), 2),
        "energy": 1000 + index,
    }
    if source == "m2" and index % 10 == 3:
        del values["power"]  # a reading without the field
    if source == "m3" and index == 5:
        values["power"] = "n/a"  # not a number: skipped by aggregates, never cast
    return values


def seed(cloud: CloudServer) -> Seeded:
    account = cloud.new_account("readings query")
    one = cloud.add_gateway(account.owner_token, name="one", sources=METERS)
    two = cloud.add_gateway(account.owner_token, name="two", sources=[OTHER_METER])
    thermometer = {
        "source": THERMOMETER,
        "unit": 7,
        "registers": [{"name": "temperature", "address": 0, "type": "int16", "scale": 0.1}],
    }
    cloud.bind_modbus(two.id, "modbus-tcp://127.0.0.1:5020", [thermometer])
    with cloud.client(account.owner_token) as owner:
        listed = owner.get("/v1/data-sources", params={"limit": 100}).raise_for_status().json()
    (type_id,) = [s["type_id"] for s in listed["items"] if s["name"] == THERMOMETER]
    seeded = Seeded(
        account, cloud.token_with("readings:GET", account=account), one, two, type_id, []
    )
    rng = random.Random(17)
    batch, seq = [], 0
    for index in range(40):
        for offset, source in zip((0, 0, 3), METERS, strict=True):  # m1 and m2 tie in time
            seq += 1
            values = meter_values(rng, index, source)
            batch.append(Sent(one.id, seq, source, index * 7.5 + offset, values))
    seeded.send(cloud, one, batch[:60])
    seeded.send(cloud, one, batch[60:])
    batch = []
    for index in range(20):
        batch.append(
            Sent(
                two.id,
                2 * index + 1,
                OTHER_METER,
                index * 13.0 + 1,
                meter_values(rng, index, OTHER_METER),
            )
        )
        batch.append(
            Sent(
                two.id,
                2 * index + 2,
                THERMOMETER,
                index * 13.0 + 2,
                {"temperature": 18 + index / 10},
            )
        )
    seeded.send(cloud, two, batch)
    return seeded


@pytest.fixture(scope="module")
def seeded(api_cloud: CloudServer) -> Seeded:
    return seed(api_cloud)
