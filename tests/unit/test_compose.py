"""Static checks of the production-like stack: docker-compose.yml, docker/Dockerfile,
docker/.env.example and docker/airflow-init.sh.

No Docker engine runs here, so the stack is validated by reading it: the things that
would otherwise only fail at `docker compose up` (a missing secret, a wrong mount, a
worker that starts before the database is healthy, a Dockerfile copying a file that is
not there) fail here instead. The init script is executed with stub `airflow` and `dbt`
commands to check what it does, in which order.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / "docker" / ".env.example"
INIT_SCRIPT = REPO / "docker" / "airflow-init.sh"
LOCK_FILE = REPO / "requirements.lock"

WRITER_POOL = "duckdb_writer"
SECRET_KEY_RE = re.compile(r"PASSWORD|SECRET|FERNET|SALT")
# Settings that name where a secret is (a file, a command), not the secret itself.
SECRET_LOCATION_SUFFIXES = ("_FILE", "_PATH", "_CMD")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alt};
# `$${...}` is compose's escape for a literal `$` and is not a variable.
VAR_RE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")
URL_CREDENTIALS_RE = re.compile(r"://(?P<user>[^:/@\s]*):(?P<password>[^@\s]+)@")


# --- helpers -------------------------------------------------------------------------
def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _airflow_services() -> dict[str, dict[str, Any]]:
    """Services running the project's Airflow image (recognised by their Airflow config)."""
    return {name: svc for name, svc in _services().items()
            if any(k.startswith("AIRFLOW__") for k in _env(svc))}


def _interpolated(value: str) -> str:
    """value with every ${VAR...} replaced by the bare variable name (for shape checks)."""
    return VAR_RE.sub(lambda m: m.group("name"), value)


def _is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY_RE.search(key)) and not key.endswith(SECRET_LOCATION_SUFFIXES)


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string value in the compose document, with a readable path to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def _env_mappings(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """Every `environment` block: services and the x- extension blocks they merge in."""
    for name, svc in doc["services"].items():
        yield f"services.{name}", _env(svc)
    for key, value in doc.items():
        if key.startswith("x-") and isinstance(value, dict):
            if all(isinstance(v, (str, int, float, bool)) or v is None for v in value.values()):
                yield key, _env({"environment": value})
            elif "environment" in value:
                yield key, _env(value)


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool


def _mounts(service: dict[str, Any]) -> list[Mount]:
    mounts = []
    for item in service.get("volumes") or []:
        if isinstance(item, dict):  # long syntax
            mounts.append(Mount(item["source"], item["target"], bool(item.get("read_only"))))
            continue
        parts = item.split(":")
        mounts.append(Mount(parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return mounts


def _mount_for(service: dict[str, Any], container_path: str) -> Mount | None:
    """The mount whose target holds container_path (deepest target wins)."""
    path = PurePosixPath(container_path)
    best = None
    for m in _mounts(service):
        target = PurePosixPath(m.target)
        if path == target or target in path.parents:
            if best is None or len(target.parts) > len(PurePosixPath(best.target).parts):
                best = m
    return best


def _env_example() -> tuple[dict[str, str], str]:
    """(uncommented KEY=value assignments, whole text) of docker/.env.example."""
    text = ENV_EXAMPLE.read_text()
    assigned = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if m:
            assigned[m.group(1)] = m.group(2)
    return assigned, text


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def _dockerfile_path() -> Path:
    build = _services()["airflow-init"]["build"]
    return (REPO / build.get("context", ".") / build["dockerfile"]).resolve()


def _dockerfile() -> list[Instruction]:
    instructions: list[Instruction] = []
    buffer, start = "", 0
    for number, raw in enumerate(_dockerfile_path().read_text().splitlines(), start=1):
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        keyword, _, args = buffer.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        buffer = ""
    return instructions


def _copies() -> list[tuple[Instruction, list[str], str]]:
    """(instruction, sources, destination) of every COPY from the build context."""
    out = []
    for ins in _dockerfile():
        if ins.keyword != "COPY":
            continue
        words = [w for w in shlex.split(ins.args)]
        if any(w.startswith("--from") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        out.append((ins, paths[:-1], paths[-1]))
    return out


# --- services and ordering ---------------------------------------------------------------
def test_every_service_has_an_image_or_a_build():
    missing = [name for name, svc in _services().items() if not (svc.get("image") or svc.get("build"))]
    assert not missing, f"services without image or build: {missing}"


def test_airflow3_celery_components_are_all_defined():
    commands = {name: " ".join(svc["command"]) if isinstance(svc.get("command"), list) else svc.get("command")
                for name, svc in _airflow_services().items()}
    for component in ("api-server", "scheduler", "dag-processor", "triggerer", "celery worker"):
        assert component in commands.values(), f"no service runs `airflow {component}`; commands: {commands}"
    assert "webserver" not in commands.values(), "Airflow 3 has no webserver: use api-server"
    assert {"postgres", "redis", "airflow-init"} <= set(_services())


def test_api_server_publishes_port_8080_and_tasks_reach_it_by_service_name():
    services = _services()
    api = next(name for name, svc in services.items() if svc.get("command") == "api-server")
    ports = [str(p) for p in services[api].get("ports", [])]
    assert any(p.endswith(":8080") for p in ports), f"{api} does not publish container port 8080: {ports}"
    for name, svc in _airflow_services().items():
        url = _env(svc).get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "")
        assert url == f"http://{api}:8080/execution/", f"{name}: EXECUTION_API_SERVER_URL={url!r}"


def test_flower_is_optional_behind_a_profile():
    flower = [svc for svc in _services().values() if "flower" in str(svc.get("command", ""))]
    assert flower, "no flower service"
    assert all("flower" in svc.get("profiles", []) for svc in flower)


def test_postgres_and_redis_have_healthchecks():
    for name in ("postgres", "redis"):
        test = _services()[name].get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck, so `service_healthy` could never be reached"


def test_airflow_services_wait_for_healthy_postgres_and_redis():
    for name, svc in _airflow_services().items():
        depends = svc.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on must use conditions, not a plain list"
        for dependency in ("postgres", "redis"):
            condition = depends.get(dependency, {}).get("condition")
            assert condition == "service_healthy", (
                f"{name}: depends_on.{dependency}.condition is {condition!r}, expected service_healthy")


def test_long_running_airflow_services_start_after_init_succeeded():
    for name, svc in _airflow_services().items():
        if name == "airflow-init":
            continue
        condition = (svc.get("depends_on") or {}).get("airflow-init", {}).get("condition")
        assert condition == "service_completed_successfully", f"{name}: starts without waiting for airflow-init"
    assert _services()["airflow-init"].get("restart") in ("no", None), "airflow-init is one-shot"


def test_workers_wait_for_a_healthy_api_server():
    for name, svc in _airflow_services().items():
        if "celery worker" in str(svc.get("command")):
            assert svc["depends_on"].get("airflow-api-server", {}).get("condition") == "service_healthy", name


# --- executor and shared settings --------------------------------------------------------
def test_executor_is_celery_everywhere_it_is_set():
    seen = {}
    for where, env in _env_mappings(_compose()):
        if "AIRFLOW__CORE__EXECUTOR" in env:
            seen[where] = env["AIRFLOW__CORE__EXECUTOR"]
    assert seen, "AIRFLOW__CORE__EXECUTOR is never set"
    wrong = {where: value for where, value in seen.items() if value != "CeleryExecutor"}
    assert not wrong, f"executor is not CeleryExecutor in {wrong}"
    assert set(_airflow_services()) <= {w.removeprefix("services.") for w in seen}


def test_broker_and_metadata_db_point_at_the_compose_services():
    for name, svc in _airflow_services().items():
        env = {key: _interpolated(value) for key, value in _env(svc).items()}
        assert re.match(r"^redis://[^/@]*@redis:6379/\d+$", env["AIRFLOW__CELERY__BROKER_URL"]), name
        assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://"), name


@pytest.mark.parametrize("key", ["AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
                                 "AIRFLOW__API__SECRET_KEY", "SEGMENTS_PII_SALT"])
def test_secrets_that_components_must_share_have_one_value_across_services(key):
    values = {name: _env(svc).get(key) for name, svc in _airflow_services().items()}
    assert None not in values.values(), f"{key} missing in {[n for n, v in values.items() if v is None]}"
    assert len(set(values.values())) == 1, f"{key} differs between services: {values}"


# --- mounts and paths ----------------------------------------------------------------------
@pytest.mark.parametrize("env_key, repo_dir", [
    ("AIRFLOW__CORE__DAGS_FOLDER", "dags"),
    ("AIRFLOW__CORE__PLUGINS_FOLDER", "plugins"),
    ("SEGMENTS_DBT_PROJECT", "dbt_project"),
    ("SEGMENTS_EXPECTATIONS", "expectations"),
    ("DBT_PROFILES_DIR", "dbt_project"),
])
def test_project_folders_are_mounted_where_the_configuration_points(env_key, repo_dir):
    assert (REPO / repo_dir).is_dir(), f"{repo_dir}/ does not exist in the repository"
    for name, svc in _airflow_services().items():
        target = _env(svc).get(env_key)
        assert target, f"{name}: {env_key} is not set"
        mount = _mount_for(svc, target)
        assert mount is not None, f"{name}: nothing is mounted at {env_key}={target}"
        assert mount.target == target, f"{name}: {target} is inside mount {mount}, expected a mount of the folder"
        assert (REPO / mount.source).resolve() == (REPO / repo_dir).resolve(), (
            f"{name}: {target} is mounted from {mount.source}, expected ./{repo_dir}")


def test_project_folders_share_one_app_root_like_the_repository():
    # config.py and the DAG derive defaults from the repository root (parents of their
    # files), so the four folders must sit side by side inside the containers too.
    for name, svc in _airflow_services().items():
        env = _env(svc)
        roots = {PurePosixPath(env[k]).parent for k in ("AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER",
                                                        "SEGMENTS_DBT_PROJECT", "SEGMENTS_EXPECTATIONS")}
        assert len(roots) == 1, f"{name}: project folders are not siblings: {roots}"


def test_dbt_project_mount_is_writable_for_the_manifest():
    # The DAG renders from dbt_project/target/manifest.json, written by `dbt parse` in airflow-init.
    for name, svc in _airflow_services().items():
        mount = _mount_for(svc, _env(svc)["SEGMENTS_DBT_PROJECT"])
        assert mount is not None and not mount.read_only, f"{name}: dbt_project is mounted read-only"


def test_every_airflow_service_shares_one_named_data_volume_holding_the_warehouse():
    doc = _compose()
    sources = set()
    for name, svc in _airflow_services().items():
        env = _env(svc)
        home = PurePosixPath(env["SEGMENTS_HOME"])
        for key in ("SEGMENTS_WAREHOUSE", "SEGMENTS_SERVING", "SEGMENTS_LANDING", "SEGMENTS_QUARANTINE",
                    "SEGMENTS_REPORTS"):
            assert home in PurePosixPath(env[key]).parents, f"{name}: {key}={env[key]} is outside SEGMENTS_HOME"
        mount = _mount_for(svc, str(home))
        assert mount is not None and mount.target == str(home), f"{name}: SEGMENTS_HOME={home} is not a mount"
        assert not mount.read_only, f"{name}: the data volume is read-only"
        sources.add(mount.source)
    assert len(sources) == 1, f"services mount different data volumes: {sources}"
    (volume,) = sources
    assert volume in (doc.get("volumes") or {}), f"data volume {volume!r} is not a declared named volume"


# --- secrets and variables --------------------------------------------------------------------
def test_no_literal_secret_values_in_any_environment():
    for where, env in _env_mappings(_compose()):
        for key, value in env.items():
            if _is_secret_key(key):
                m = VAR_RE.fullmatch(value)
                assert m, f"{where}.{key} is a literal value, expected a ${{VAR}} reference"
                assert m.group("op") in (None, ":?", "?"), f"{where}.{key} gives a secret a default value"


def test_credentials_inside_urls_are_variable_references():
    for path, value in _strings(_compose()):
        for m in URL_CREDENTIALS_RE.finditer(value):
            password = VAR_RE.fullmatch(m.group("password"))
            assert password and password.group("op") in (None, ":?", "?"), (
                f"{path} embeds a literal password in a URL: {value}")


def test_every_variable_without_a_default_is_set_in_env_example():
    assigned, _ = _env_example()
    required = {m.group("name") for _, value in _strings(_compose()) for m in VAR_RE.finditer(value)
                if m.group("op") in (None, ":?", "?")}
    assert required, "expected required secrets as ${VAR:?message}"
    missing = sorted(required - set(assigned))
    assert not missing, f"variables without default missing from docker/.env.example: {missing}"


def test_every_optional_variable_is_documented_in_env_example():
    _, text = _env_example()
    optional = {m.group("name") for _, value in _strings(_compose()) for m in VAR_RE.finditer(value)
                if m.group("op") in (":-", "-")}
    undocumented = sorted(name for name in optional if not re.search(rf"\b{name}=", text))
    assert not undocumented, f"optional variables not mentioned in docker/.env.example: {undocumented}"


def test_env_example_holds_placeholders_not_secrets():
    assigned, _ = _env_example()
    for key, value in assigned.items():
        if _is_secret_key(key):
            assert value.startswith("change-me"), f"docker/.env.example {key} looks like a real value"


# --- Dockerfile ------------------------------------------------------------------------------
def test_compose_builds_the_dockerfile_from_the_repository_root():
    for name, svc in _airflow_services().items():
        build = svc.get("build")
        assert build, f"{name} does not build the project image"
        assert (REPO / build.get("context", ".")).resolve() == REPO, f"{name}: build context is not the repo root"
        assert _dockerfile_path().is_file()


def test_dockerfile_copies_only_files_that_exist():
    copies = _copies()
    assert copies, "the Dockerfile copies nothing from the repository"
    for ins, sources, _ in copies:
        for source in sources:
            assert (REPO / source).exists(), f"Dockerfile line {ins.line}: COPY source {source} does not exist"


def test_dockerfile_ignore_file_lets_every_copied_file_through():
    ignore = _dockerfile_path().with_name(_dockerfile_path().name + ".dockerignore")
    if not ignore.exists():
        pytest.skip("no Dockerfile-specific .dockerignore")
    allowed = {line[1:].rstrip("/") for line in ignore.read_text().splitlines() if line.startswith("!")}
    for ins, sources, _ in _copies():
        for source in sources:
            assert source.rstrip("/") in allowed, f"Dockerfile line {ins.line}: {source} is excluded by {ignore.name}"


def test_dockerfile_installs_the_lock_before_the_project():
    instructions = _dockerfile()
    copy_lock = next(i for i, ins in enumerate(instructions)
                     if ins.keyword == "COPY" and "requirements.lock" in ins.args)
    install_lock = next(i for i, ins in enumerate(instructions)
                        if ins.keyword == "RUN" and re.search(r"pip install .*-r requirements\.lock", ins.args))
    install_project = next(i for i, ins in enumerate(instructions)
                           if ins.keyword == "RUN" and re.search(r"pip install --no-deps -e \.", ins.args))
    copy_package = next(i for i, ins in enumerate(instructions)
                        if ins.keyword == "COPY" and "plugins/" in ins.args)
    assert copy_lock < install_lock < install_project
    assert copy_package < install_project


def test_dockerfile_base_image_matches_the_locked_airflow_version():
    locked = re.search(r"^apache-airflow==(\S+)$", LOCK_FILE.read_text(), re.MULTILINE)
    assert locked, "apache-airflow is not pinned in requirements.lock"
    args = {}
    for ins in _dockerfile():
        if ins.keyword == "ARG" and "=" in ins.args:
            key, value = ins.args.split("=", 1)
            args.setdefault(key, value)
    assert args.get("AIRFLOW_VERSION") == locked.group(1), (
        f"Dockerfile AIRFLOW_VERSION={args.get('AIRFLOW_VERSION')} but the lock pins {locked.group(1)}")
    base = next(ins.args for ins in _dockerfile() if ins.keyword == "FROM")
    assert base.startswith("apache/airflow:${AIRFLOW_VERSION}"), base


def test_airflow_init_runs_the_script_baked_into_the_image():
    command = _services()["airflow-init"]["command"]
    script_in_image = next(word for word in command if word.endswith(".sh"))
    destinations = {dest: sources for _, sources, dest in _copies()}
    assert script_in_image in destinations, f"{script_in_image} is not copied into the image"
    assert [str(INIT_SCRIPT.relative_to(REPO))] == destinations[script_in_image]


# --- the init script, executed with stub commands ------------------------------------------------
def _stub_bin(tmp_path: Path) -> tuple[Path, Path]:
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in ("airflow", "dbt"):
        stub = bin_dir / tool
        stub.write_text(f'#!/usr/bin/env bash\necho "{tool} $*" >> "{calls}"\n')
        stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    python = bin_dir / "python"
    python.write_text(f'#!/usr/bin/env bash\nexec "{sys.executable}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return bin_dir, calls


def _init_env(tmp_path: Path, bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in _env(_services()["airflow-init"]).items() if not VAR_RE.search(v)}
    env.update({
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://airflow:pw@postgres:5432/airflow",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "auth" / "passwords.json"),
        "AIRFLOW_ADMIN_USER": "admin",
        "AIRFLOW_ADMIN_PASSWORD": 'p"w\\d',
        "SEGMENTS_DBT_TARGET": "dev",
        "SEGMENTS_DBT_PROJECT": str(tmp_path / "dbt_project"),
        "DBT_PROFILES_DIR": str(tmp_path / "dbt_project"),
    })
    for key in ("SEGMENTS_HOME", "SEGMENTS_LANDING", "SEGMENTS_QUARANTINE", "SEGMENTS_WAREHOUSE",
                "SEGMENTS_SERVING", "SEGMENTS_REPORTS"):
        env[key] = str(tmp_path / "data" / env[key].removeprefix("/opt/segments/data").lstrip("/"))
    return env


def test_init_script_migrates_then_creates_the_single_slot_writer_pool(tmp_path):
    bin_dir, calls = _stub_bin(tmp_path)
    env = _init_env(tmp_path, bin_dir)
    result = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    log = calls.read_text().splitlines()
    assert log[0] == "airflow db migrate", log
    pool = [shlex.split(line) for line in log if line.startswith("airflow pools set")]
    assert len(pool) == 1 and pool[0][3:5] == [WRITER_POOL, "1"], log
    assert log.index("airflow db migrate") < next(i for i, line in enumerate(log) if line.startswith("airflow pools"))
    dbt = next(shlex.split(line) for line in log if line.startswith("dbt parse"))
    assert dbt[dbt.index("--target") + 1] == "dev"
    assert dbt[dbt.index("--project-dir") + 1] == env["SEGMENTS_DBT_PROJECT"]


def test_init_script_writes_the_admin_password_file_readable_only_by_its_owner(tmp_path):
    bin_dir, _ = _stub_bin(tmp_path)
    env = _init_env(tmp_path, bin_dir)
    subprocess.run(["bash", str(INIT_SCRIPT)], env=env, check=True, capture_output=True, timeout=60)
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    assert json.loads(passwords.read_text()) == {"admin": 'p"w\\d'}
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    assert Path(env["SEGMENTS_LANDING"]).is_dir() and Path(env["SEGMENTS_WAREHOUSE"]).parent.is_dir()


def test_init_script_stops_before_touching_airflow_when_the_admin_password_is_missing(tmp_path):
    bin_dir, calls = _stub_bin(tmp_path)
    env = _init_env(tmp_path, bin_dir)
    del env["AIRFLOW_ADMIN_PASSWORD"]
    result = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "AIRFLOW_ADMIN_PASSWORD" in result.stderr
    assert not calls.exists(), "airflow was called although the configuration was incomplete"


def test_init_script_fails_when_a_step_fails(tmp_path):
    bin_dir, calls = _stub_bin(tmp_path)
    (bin_dir / "airflow").write_text(
        f'#!/usr/bin/env bash\necho "airflow $*" >> "{calls}"\n[[ "$1" == pools ]] && exit 3\nexit 0\n')
    env = _init_env(tmp_path, bin_dir)
    result = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert not any(line.startswith("dbt") for line in calls.read_text().splitlines())


# --- docker compose itself, when available ---------------------------------------------------------
def _docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _docker_compose_available(),
                    reason="the `docker compose` CLI plugin is not installed; the static checks above cover the file")
def test_docker_compose_accepts_the_file_with_the_example_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "REDIS_", "AIRFLOW_", "SEGMENTS_"))}
    result = subprocess.run(
        ["docker", "compose", "--project-directory", str(REPO), "-f", str(COMPOSE_FILE),
         "--env-file", str(ENV_EXAMPLE), "--profile", "flower", "config", "-q"],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
