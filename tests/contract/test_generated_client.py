"""A client generated from /openapi.json with openapi-python-client works end to end against a
real server, through typed models: register, log in, generate a key, simulate, read it back."""

import copy
import importlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.schemas.simulation import SPEC_EXAMPLE
from tests.factories import PASSWORD

PACKAGE = "generated_mc_client"


@pytest.fixture(scope="module")
def generated(live_server: str, tmp_path_factory: pytest.TempPathFactory):
    """The generated package, imported."""
    folder = tmp_path_factory.mktemp("client")
    spec = folder / "openapi.json"
    spec.write_bytes(httpx.get(f"{live_server}/openapi.json").content)
    venv_bin = str(Path(sys.executable).parent)
    subprocess.run(
        [
            str(Path(venv_bin) / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        # It formats what it writes with ruff, from the same environment.
        env={**os.environ, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")},
    )
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(package: object, name: str) -> object:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_runs_the_spec_example_through_typed_models(
    generated: object, live_server: str
) -> None:
    client_module, models = module(generated, "client"), module(generated, "models")
    register = module(generated, "api.auth.register")
    login = module(generated, "api.auth.login")
    generate_key = module(generated, "api.api_keys.generate_api_key")
    simulate = module(generated, "api.simulations.simulate")
    get_simulation = module(generated, "api.simulations.get_simulation")
    anonymous = client_module.Client(base_url=live_server, raise_on_unexpected_status=True)

    email = "generated-client@example.com"
    user = register.sync(client=anonymous, body=models.UserRegister(email=email, password=PASSWORD))
    assert isinstance(user, models.UserResponse) and user.email == email
    tokens = login.sync(client=anonymous, body=models.LoginRequest(email=email, password=PASSWORD))
    assert isinstance(tokens, models.TokenResponse)
    signed_in = client_module.AuthenticatedClient(base_url=live_server, token=tokens.access_token)
    key = generate_key.sync(client=signed_in, body=models.ApiKeyCreate(name="Generated client"))
    assert isinstance(key, models.ApiKeyCreated) and key.key.startswith("mk_live_")

    script = client_module.AuthenticatedClient(
        base_url=live_server, token=key.key, prefix="", auth_header_name="X-API-Key"
    )
    request = models.SimulationRequest.from_dict(copy.deepcopy(SPEC_EXAMPLE))
    result = simulate.sync(client=script, body=request)
    assert isinstance(result, models.SimulationResponse), result
    risk = result.results.risk_metrics
    assert isinstance(risk.var_95, float)
    assert risk.var_99 <= risk.var_95 <= result.results.final_value_stats.median
    assert result.inputs.parameters.num_simulations == 10_000
    assert result.inputs.assets[0].ticker == "NSEI Index"
    assert len(result.results.percentile_bands.p50) == 121

    saved = get_simulation.sync(result.simulation_id, client=script)
    assert isinstance(saved, models.SimulationResponse)
    assert saved.to_dict() == result.to_dict()
    assert saved.results.risk_metrics.var_95 == risk.var_95
