"""RateLimit-Limit / -Remaining / -Reset on every response of a rate-limited route (429 included,
with Retry-After), and in the OpenAPI document."""

from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import ClientFactory

HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def quota(response) -> tuple[int, int, int]:
    return tuple(int(response.headers[name]) for name in HEADERS)


async def test_api_key_routes_count_down_to_429_in_their_headers(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(API_RATE_LIMIT="3/minute")
    _, keys = await keys_of_new_user(client, 1)
    headers = {"X-API-Key": keys[0]["key"]}
    answers = [await client.get("/api/v1/api-key", headers=headers) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [quota(r)[:2] for r in answers] == [(3, 2), (3, 1), (3, 0), (3, 0)]
    assert all(1 <= quota(r)[2] <= 60 for r in answers)
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    # Any answer of a rate-limited route carries them, whatever its status.
    missing = await client.get("/api/v1/simulations/sim_000000000000", headers=headers)
    assert missing.status_code == 429 and quota(missing)[1] == 0


async def test_refused_keys_and_logins_carry_their_quota(client_factory: ClientFactory) -> None:
    client = await client_factory(API_RATE_LIMIT="5/minute", LOGIN_RATE_LIMIT="7/minute")
    refused = await client.get("/api/v1/api-key", headers={"X-API-Key": "mk_live_wrong"})
    assert refused.status_code == 401 and quota(refused)[:2] == (5, 4)
    login = await client.post("/auth/login", json={"email": "no@example.com", "password": "x1"})
    assert login.status_code == 401 and quota(login)[:2] == (7, 6)
    health = await client.get("/health")
    assert not set(HEADERS) & set(health.headers)  # not a rate-limited route


async def test_openapi_documents_the_headers_on_rate_limited_routes(client) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path, method in [("/api/v1/simulate", "post"), ("/auth/login", "post")]:
        for status, response in paths[path][method]["responses"].items():
            assert set(HEADERS) <= set(response.get("headers", {})), (path, status)
    assert "Retry-After" in paths["/api/v1/simulate"]["post"]["responses"]["429"]["headers"]
    assert "headers" not in paths["/auth/me"]["get"]["responses"]["200"]
