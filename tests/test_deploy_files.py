"""The deployment files keep their contract with the code: compose.yaml, the Dockerfile, .dockerignore,
the systemd unit, the reverse-proxy examples and the env examples.

This machine has no Docker daemon and no `docker compose`, so compose.yaml is checked against the Compose
Specification's own JSON Schema (tests/data/deploy/) and every name in it against the code that reads it:
the environment variables bot/settings.py reads, the CLI subcommands the healthcheck and ExecStart run, the
paths the database and config land on. The build context is computed from .dockerignore with Docker's
matching rules, so an image can be built from exactly what the Dockerfile copies, and nothing secret is sent.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import sqlite3
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from bot.cli.main import build_parser
from bot.store.db import open_db
from tests.cli import cli_env

ROOT = Path(__file__).resolve().parents[1]
HOST_ROOT = PurePosixPath(posixpath.sep)  # paths on the deployment host, compared as text, never read here
DEPLOY = ROOT / "deploy"
# Names the deploy files and docs use that parallel branches of issue 9 add to the code: the token as a
# file (B2), `mediabot backup` and `mediabot stats` (C1). Once merged, the code has them and these sets
# change nothing.


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def bot_service() -> dict[str, Any]:
    return compose()["services"]["mediabot"]


def subcommands() -> set[str]:
    return set(build_parser().commands)  # type: ignore[attr-defined]


def settings_env_names() -> set[str]:
    """Every environment variable the code reads (bot/settings.py, and the CLI's defaults for --config/--db)."""
    code = "".join((ROOT / f).read_text(encoding="utf-8") for f in ("bot/settings.py", "bot/cli/main.py"))
    return set(re.findall(r"""env\.get\(\s*["']([A-Z_]+)["']""", code))


def env_example(name: str) -> dict[str, str]:
    """KEY=value lines of an env example, commented-out ones included (they are the documented options)."""
    out = {}
    for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]*)=(\S*)(?:\s+#.*)?", line.strip())
        if match:
            out[match.group(1)] = match.group(2)
    return out


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m|h)", duration)
    assert match, duration
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


# -- Dockerfile ------------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(row.split(None, 1)[0].upper(), row.split(None, 1)[1]) for row in joined.splitlines() if row.strip()]


def instruction(name: str) -> list[str]:
    return [args for op, args in dockerfile() if op == name]


def healthcheck() -> tuple[dict[str, str], list[str]]:
    (args,) = instruction("HEALTHCHECK")
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", args))
    return options, json.loads(args.split("CMD", 1)[1])


def test_the_image_runs_real_commands_as_an_unprivileged_user() -> None:
    (entrypoint,) = instruction("ENTRYPOINT")
    (cmd,) = instruction("CMD")
    assert json.loads(entrypoint) == ["mediabot"]
    assert json.loads(cmd)[0] in subcommands()
    _, check = healthcheck()
    assert check[0] == "mediabot" and check[1] in subcommands()
    (user,) = instruction("USER")
    assert user.split(":")[0] not in ("0", "root")
    # No token or secret baked into an image layer.
    for op, args in dockerfile():
        if op in ("ENV", "ARG"):
            assert not re.search(r"TOKEN|SECRET|PASSWORD", args), args


def test_the_health_check_answers_within_its_timeout_while_another_process_holds_the_database(tmp_path) -> None:
    """Docker kills a check that overruns `--timeout` and counts a failure without a word; ours must speak first."""
    options, check = healthcheck()
    db = tmp_path / "mediabot.db"
    open_db(db).conn.close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")  # even readers wait, as behind a long write
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO audit (at, action) VALUES ('2026-11-30T00:00:00+00:00', 'lock')")
    try:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(ROOT / "feeds.yaml"), "--db", str(db), *check[1:]],
            capture_output=True,
            text=True,
            timeout=seconds(options["timeout"]),
            cwd=ROOT,
            env=cli_env(),
        )
        took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 1 and proc.stdout.startswith("unhealthy: ") and len(proc.stdout.splitlines()) == 1
    assert "Traceback" not in proc.stderr
    assert took < seconds(options["timeout"])


def test_every_file_the_dockerfile_copies_exists_and_is_in_the_build_context() -> None:
    context = build_context()
    for args in instruction("COPY"):
        *sources, _target = shlex.split(args)
        for source in sources:
            path = ROOT / source
            assert path.exists(), source
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            wanted = {p.relative_to(ROOT).as_posix() for p in files if "__pycache__" not in p.parts}
            assert wanted and wanted <= context, sorted(wanted - context)[:5]
    # `pip install .` reads these: the package metadata and the readme it names.
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    readme = re.search(r'^readme = "([^"]+)"', project, re.M)
    assert readme and readme.group(1) in context and "pyproject.toml" in context


# -- .dockerignore ---------------------------------------------------------------------------------


def _pattern(text: str) -> re.Pattern[str]:
    """One .dockerignore pattern as Docker reads it (Go filepath.Match plus `**`), anchored at the context root."""
    out, i = "", 0
    text = str(HOST_ROOT / text.strip()).lstrip("/")
    while i < len(text):
        if text.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif text.startswith("**", i):
            out, i = out + ".*", i + 2
        elif text[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif text[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(text[i]), i + 1
    return re.compile(out)


def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), _pattern(line.lstrip("!"))))
    return rules


def excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for negated, pattern in rules:
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            verdict = not negated
    return verdict


def build_context() -> set[str]:
    """The files `docker build .` would send, as paths relative to the repository."""
    rules = dockerignore()
    sent = set()
    for folder, subfolders, files in os.walk(ROOT):
        here = Path(folder).relative_to(ROOT).as_posix()
        if here == ".":
            subfolders[:] = [d for d in subfolders if d not in (".git", ".venv")]  # excluded too (tested below)
        for name in files:
            relative = name if here == "." else f"{here}/{name}"
            if not excluded(relative, rules):
                sent.add(relative)
    return sent


@pytest.mark.parametrize(
    "path",
    [
        "secrets/telegram_bot_token",
        ".env",
        "data/mediabot.db",
        "data/mediabot.db-wal",
        "config/feeds.yaml",
        "backups/mediabot-2026-11-30.db",
        ".git/config",
        ".venv/bin/python",
        "tests/conftest.py",
        "bot/__pycache__/config.cpython-311.pyc",
        "compose.yaml",
    ],
)
def test_secrets_data_and_development_files_stay_out_of_the_build_context(path: str) -> None:
    assert excluded(path, dockerignore())


def test_the_build_context_is_the_package_and_its_metadata_only() -> None:
    context = build_context()
    assert {"pyproject.toml", "README.md", "feeds.yaml", "bot/cli/main.py"} <= context
    assert all(p in ("pyproject.toml", "README.md", "feeds.yaml") or p.startswith("bot/") for p in context)


def test_the_dockerignore_matcher_follows_dockers_rules() -> None:
    rules = [(False, _pattern("*")), (True, _pattern("bot/")), (False, _pattern("**/*.pyc"))]
    assert excluded("tests/x.py", rules) and not excluded("bot/a/b.py", rules)
    assert excluded("bot/a/b.pyc", rules) and excluded("x.pyc", rules)
    assert not excluded("bot", rules) and excluded("bots/x.py", rules)


# -- compose.yaml ----------------------------------------------------------------------------------


def test_compose_yaml_is_valid_against_the_compose_specification() -> None:
    schema = json.loads((ROOT / "tests/data/deploy/compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    validator.validate(compose())
    with pytest.raises(jsonschema.ValidationError):  # the schema does reject a mistake
        validator.validate({**compose(), "services": {"mediabot": {"restart": ["always"]}}})


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in service.get("environment", {}).items()}


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """target → (source, mode) of the short volume syntax."""
    out = {}
    for spec in service.get("volumes", []):
        source, target, *mode = spec.split(":")
        out[target] = (source, mode[0] if mode else "rw")
    return out


def test_the_database_lives_on_a_named_volume_and_the_config_folder_is_mounted_read_only() -> None:
    service, env = bot_service(), service_environment(bot_service())
    mounts = _mounts(service)
    db_dir = str(PurePosixPath(env["MEDIABOT_DB"]).parent)
    assert mounts[db_dir][0] in compose()["volumes"]  # a named volume, not a container layer
    config = PurePosixPath(env["MEDIABOT_CONFIG"])
    # The folder, not the file: /reload re-reads MEDIABOT_CONFIG, and an editor that replaces the file
    # leaves a single-file bind mount on the old inode.
    source, mode = mounts[str(config.parent)]
    assert source.startswith("./") and mode == "ro"
    assert service["read_only"] is True and any(t.startswith("/tmp") for t in service["tmpfs"])


def test_the_token_comes_from_a_compose_secret_file() -> None:
    env = service_environment(bot_service())
    assert "TELEGRAM_BOT_TOKEN" not in env
    secret = PurePosixPath(env["TELEGRAM_BOT_TOKEN_FILE"])
    assert str(secret.parent) == "/run/secrets" and secret.name in bot_service()["secrets"]
    assert compose()["secrets"][secret.name]["file"].startswith("./secrets/")
    assert excluded("secrets/" + secret.name, dockerignore())
    assert re.search(r"^/?secrets/?$", (ROOT / ".gitignore").read_text(encoding="utf-8"), re.M)


def test_every_environment_variable_in_the_deploy_files_is_one_the_code_reads() -> None:
    known = settings_env_names()
    assert {"TELEGRAM_BOT_TOKEN", "MEDIABOT_WEBHOOK_SECRET", "MEDIABOT_DB"} <= known  # the scan finds them
    used = set(service_environment(bot_service())) | set(env_example("mediabot.env.example")) | set(unit_environment())
    used |= {k for k in env_example("compose.env.example") if k.startswith(("MEDIABOT_", "TELEGRAM_"))}
    compose_only = {"MEDIABOT_VERSION", "MEDIABOT_DOMAIN"}  # read by compose.yaml itself, not by the bot
    assert used - compose_only - {"MPLCONFIGDIR"} <= known, sorted(used - compose_only - known)
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert compose_only <= set(re.findall(r"\$\{([A-Z_]+)", text))


def test_the_health_check_is_the_images_and_restarts_are_automatic() -> None:
    service = bot_service()
    options, check = healthcheck()
    assert service["healthcheck"]["test"] == ["CMD", *check]
    for key in ("interval", "timeout", "retries"):
        assert str(service["healthcheck"][key]) == options[key]
    assert service["restart"] in ("always", "unless-stopped") and service["init"] is True
    assert "user" not in service  # the image's unprivileged user
    limits = service["deploy"]["resources"]["limits"]
    assert limits["memory"] and limits["cpus"] and limits["pids"]
    assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"]


def test_the_webhook_listener_is_reached_through_the_proxy_only() -> None:
    services, env = compose()["services"], service_environment(bot_service())
    port = env["MEDIABOT_WEBHOOK_PORT"]
    assert "ports" not in services["mediabot"] and services["mediabot"]["expose"] == [port]
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert f"reverse_proxy mediabot:{port}" in caddyfile
    assert _mounts(services["caddy"])["/etc/caddy/Caddyfile"] == ("./deploy/Caddyfile", "ro")
    assert services["caddy"]["profiles"] == ["webhook"]
    # The path Telegram posts to is the one the proxy lets through (the bot listens on the URL's path).
    paths = set(re.findall(r"^\s*path (\S+)$", caddyfile, re.M))
    (webhook,) = [url for url in _webhook_examples() if url.startswith("https://")]
    assert paths == {urlsplit(webhook).path}
    nginx = (DEPLOY / "nginx-mediabot.conf").read_text(encoding="utf-8")
    assert re.search(rf"location = {re.escape(urlsplit(webhook).path)} ", nginx)
    listen = env_example("mediabot.env.example")
    assert f"proxy_pass http://{listen['MEDIABOT_WEBHOOK_LISTEN']}:{listen['MEDIABOT_WEBHOOK_PORT']};" in nginx


def test_the_self_hosted_bot_api_server_is_the_url_the_example_gives() -> None:
    api = compose()["services"]["telegram-bot-api"]
    assert api["profiles"] == ["local-api"] and "ports" not in api
    assert {"TELEGRAM_API_ID_FILE", "TELEGRAM_API_HASH_FILE"} <= set(service_environment(api))
    url = urlsplit(env_example("compose.env.example")["TELEGRAM_API_URL"])
    assert url.hostname == "telegram-bot-api" and [str(url.port)] == api["expose"]
    # With its own Bot API server (--local) Telegram's side is on the compose network: plain http, no proxy.
    (local,) = [urlsplit(url) for url in _webhook_examples() if url.startswith("http://")]
    assert (local.hostname, str(local.port)) == (
        "mediabot",
        service_environment(bot_service())["MEDIABOT_WEBHOOK_PORT"],
    )


def _webhook_examples() -> list[str]:
    text = (DEPLOY / "compose.env.example").read_text(encoding="utf-8")
    return re.findall(r"^#?\s*MEDIABOT_WEBHOOK_URL=(\S+)", text, re.M)


# -- systemd ---------------------------------------------------------------------------------------


def unit() -> list[tuple[str, str]]:
    out = []
    for line in (DEPLOY / "mediabot.service").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            out.append((key.strip(), value.strip()))
    return out


def unit_value(key: str) -> str:
    (value,) = [v for k, v in unit() if k == key]
    return value


def unit_environment() -> dict[str, str]:
    return dict(v.split("=", 1) for k, v in unit() if k == "Environment")


def test_the_unit_starts_a_real_command() -> None:
    binary, command, *rest = shlex.split(unit_value("ExecStart"))
    assert PurePosixPath(binary).name == "mediabot" and command in subcommands() and not rest


def test_the_unit_stops_retrying_on_exactly_the_exit_code_of_a_configuration_error(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(ROOT / "feeds.yaml"), "--db", str(tmp_path / "x.db"), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=cli_env(),  # no token: a configuration error
    )
    assert proc.returncode == int(unit_value("RestartPreventExitStatus")) == 2
    assert unit_value("Restart") == "on-failure"


def test_the_unit_keeps_its_files_where_a_strict_read_only_system_lets_it_write() -> None:
    env = unit_environment()
    assert unit_value("ProtectSystem") == "strict" and unit_value("NoNewPrivileges") == "yes"
    assert unit_value("PrivateTmp") == "yes" and unit_value("UMask") == "0077"
    states = unit_value("StateDirectory").split()
    assert PurePosixPath(env["MEDIABOT_DB"]).parent == HOST_ROOT / "var" / "lib" / states[0]
    assert PurePosixPath(env["MPLCONFIGDIR"]).is_relative_to(HOST_ROOT / "var" / "cache" / unit_value("CacheDirectory"))
    assert not PurePosixPath(env["MEDIABOT_CONFIG"]).is_relative_to("/var")  # read-only, edited by the operator


def test_the_token_is_a_systemd_credential() -> None:
    name, source = unit_value("LoadCredential").split(":", 1)
    assert unit_environment()["TELEGRAM_BOT_TOKEN_FILE"] == f"%d/{name}"
    assert PurePosixPath(source).is_absolute()
    assert "TELEGRAM_BOT_TOKEN" not in unit_environment()
    assert not {k for k in env_example("mediabot.env.example") if re.search("TOKEN$|PASSWORD", k)}


def test_the_backup_timer_runs_a_real_command_as_the_services_user() -> None:
    text = (DEPLOY / "mediabot-backup.service").read_text(encoding="utf-8")
    assert re.findall(r"^User=(\S+)$", text, re.M) == [unit_value("User")]
    (command,) = re.findall(r"/bin/mediabot (\S+) ", text)
    assert command in subcommands()
    (target,) = re.findall(r'mediabot backup "([^"$]+)/mediabot-', text)
    assert PurePosixPath(target) == HOST_ROOT / "var" / "lib" / unit_value("StateDirectory").split()[1]
    assert "OnCalendar=" in (DEPLOY / "mediabot-backup.timer").read_text(encoding="utf-8")
