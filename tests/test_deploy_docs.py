"""The deployment documents (README's Deploy section, docs/DEPLOY.md, SECURITY.md) name only real things:
`mediabot` subcommands, files in the repository, environment variables the code or compose.yaml reads.

A renamed command, a moved file or a misspelt variable in an operator's runbook fails here, not at 3 a.m.
"""

from __future__ import annotations

import re

from tests.test_deploy_files import (
    DEPLOY,
    ROOT,
    compose,
    service_environment,
    settings_env_names,
    subcommands,
)

_GLOBAL_OPTIONS = {"--config", "--db", "--log-level", "--log-format"}
# Tokens after which `mediabot` is the program (or the compose service running it), not a word in a sentence.
_COMMAND_POSITION = {"exec", "run", "sudo", "mediabot", "&&", "||", "|", ";"}


def documents() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deploy = readme.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    return {
        "README.md#deploy": deploy,
        "docs/DEPLOY.md": (ROOT / "docs/DEPLOY.md").read_text(encoding="utf-8"),
        "SECURITY.md": (ROOT / "SECURITY.md").read_text(encoding="utf-8"),
    }


def code_spans(markdown: str) -> list[str]:
    blocks = re.findall(r"```[a-z]*\n(.*?)```", markdown, re.S)
    prose = re.sub(r"```[a-z]*\n.*?```", "", markdown, flags=re.S)
    return blocks + re.findall(r"`([^`\n]+)`", prose)


def mediabot_commands(code: str) -> list[str]:
    """The subcommand of every `mediabot …` command line in `code` (global options skipped)."""
    found = []
    for line in code.splitlines():
        tokens = [t.strip("`'\"(),") for t in line.split()]
        for i, token in enumerate(tokens):
            program = token.endswith("/bin/mediabot") or (
                token == "mediabot" and (i == 0 or tokens[i - 1] in _COMMAND_POSITION or tokens[i - 1][:1] == "-")
            )
            if not program or (i and tokens[i - 1] in ("-u", "--user")):
                continue
            j = i + 1
            while j < len(tokens) and tokens[j] in _GLOBAL_OPTIONS:
                j += 2
            if j < len(tokens) and re.fullmatch(r"[a-z][a-z-]*", tokens[j]) and tokens[j] != "mediabot":
                found.append(tokens[j])
    return found


def test_the_command_finder_reads_commands_not_sentences() -> None:
    assert mediabot_commands("docker compose exec -T mediabot mediabot health || x") == ["health"]
    assert mediabot_commands("docker compose run --rm --no-deps mediabot check-config") == ["check-config"]
    assert mediabot_commands("/opt/mediabot/.venv/bin/mediabot --db x.db run") == ["run"]
    assert mediabot_commands("newer than this mediabot knows (7)") == []
    assert mediabot_commands("sudo -u mediabot sh -c 'cp a b'") == []


def test_every_command_the_documents_show_is_a_real_one() -> None:
    shown = {}
    for name, text in documents().items():
        for span in code_spans(text):
            for command in mediabot_commands(span):
                shown.setdefault(command, name)
    assert {"health", "backup", "run"} <= set(shown)  # the finder does find them
    unknown = {c: where for c, where in shown.items() if c not in subcommands()}
    assert not unknown


def test_every_file_the_documents_name_exists_and_every_deploy_file_is_documented() -> None:
    named = set()
    for text in documents().values():
        named |= set(re.findall(r"(?<![\w/.-])((?:bot|tests|deploy|docs)/[\w./-]*\w)", text))
    assert {"deploy/mediabot.service", "bot/settings.py"} <= named
    missing = {p for p in named if not (ROOT / p).exists()}
    # `deploy/mediabot-backup.*` and the like name a group of files
    missing = {p for p in missing if not list(ROOT.glob(p.rstrip(".") + "*"))}
    assert not missing, sorted(missing)
    table = documents()["docs/DEPLOY.md"].split("## Files", 1)[1].split("\n## ", 1)[0]
    for path in DEPLOY.iterdir():
        assert path.name in table or path.stem in table, f"{path.name} is not in docs/DEPLOY.md's table"


def test_every_environment_variable_the_documents_name_is_one_the_code_or_compose_reads() -> None:
    named = set()
    for text in documents().values():
        named |= set(re.findall(r"\b((?:MEDIABOT|TELEGRAM)_[A-Z_]*[A-Z])\b", text))
    compose_text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    known = settings_env_names() | set(re.findall(r"\$\{([A-Z_]+)", compose_text))
    known |= set(service_environment(compose()["services"]["telegram-bot-api"]))  # the Bot API image's own
    assert "TELEGRAM_BOT_TOKEN_FILE" in named
    assert named <= known, sorted(named - known)
