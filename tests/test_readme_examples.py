"""README.md's API examples, run as a reader pastes them: the real curl against a live server.

Every `curl` in the README is extracted: those in ```sh blocks with the answers documented under
them (`# -> 201 {...}`; `; the same request again -> 200 {...}` documents a second sending), and
those inline in the prose. $SMSDASH points at the live server and $TOKEN is a token created
through the admin's "API tokens → Add" page, as the README tells a reader to do. A documented
answer must hold: its status, and each field it shows (an "id" is a placeholder: the same number
in two answers must be the same row). An example with no documented answer must answer 2xx.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from apps.providers.models import Provider
from tests import services
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(__file__).resolve().parent.parent / "README.md"
ANSWER = re.compile(r"\s*->\s*(\d{3})\s*")
INLINE_CURL = re.compile(r"`(curl [^`]+)`")
CREATED_TOKEN = re.compile(r'<code id="api-token"[^>]*>\s*(smsd_[^<\s]+)\s*</code>')
SIMULATOR_HOST = "localhost:8025"  # the port `simulate_providers` listens on by default


@dataclass
class Answer:
    status: int
    body: dict


@dataclass
class Example:
    line: int
    command: str
    answers: list[Answer] = field(default_factory=list)
    in_code_block: bool = True


def complete(command: str) -> bool:
    if command.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(command)
    except ValueError:  # an open quote: the JSON body goes on on the next line
        return False
    return True


def parse_answers(text: str) -> list[Answer]:
    """'-> 201 {...}; the same request again -> 200 {...}': one answer per sending, in order."""
    answers, decoder = [], json.JSONDecoder()
    for part in text.split("->")[1:]:
        match = ANSWER.match("->" + part)
        assert match, f"an answer must start with a status: {part!r}"
        body, _ = decoder.raw_decode(("->" + part)[match.end() :])
        answers.append(Answer(int(match.group(1)), body))
    return answers


def code_blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    blocks, current = [], None
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            if current is None and line.strip() in ("```sh", "```bash", "```shell"):
                current = (number + 1, [])
            elif current is not None:
                blocks.append(current)
                current = None
        elif current is not None:
            current[1].append(line)
    return blocks


def block_examples(first_line: int, lines: list[str]) -> tuple[list[Example], dict[str, str]]:
    examples, exports, i = [], {}, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("export "):
            exports.update(pair.split("=", 1) for pair in shlex.split(line, comments=True)[1:])
        if not line.startswith("curl "):
            i += 1
            continue
        example = Example(first_line + i, line)
        while not complete(example.command):
            i += 1
            example.command += "\n" + lines[i]
        i += 1
        comment = ""
        while i < len(lines) and lines[i].startswith("#") and (comment or lines[i].startswith("# ->")):
            comment += " " + lines[i].lstrip("#").strip()
            i += 1
        example.answers = parse_answers(comment)
        examples.append(example)
    return examples, exports


def readme_examples() -> tuple[list[Example], dict[str, str]]:
    lines = README.read_text(encoding="utf-8").splitlines()
    examples, exports = [], {}
    for first_line, block in code_blocks(lines):
        found, exported = block_examples(first_line, block)
        examples += found
        exports.update(exported)
    in_blocks = {number for first, block in code_blocks(lines) for number in range(first, first + len(block))}
    for number, line in enumerate(lines, 1):
        if number not in in_blocks:
            examples += [Example(number, m.group(1), in_code_block=False) for m in INLINE_CURL.finditer(line)]
    return sorted(examples, key=lambda e: e.line), exports


def matches(documented, actual, ids: dict, path: str = "body") -> list[str]:
    """Where actual differs from what the README shows; extra fields in actual are allowed."""
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        return [
            problem
            for key, value in documented.items()
            for problem in (
                matches(value, actual[key], ids, f"{path}.{key}") if key in actual else [f"{path}.{key}: missing"]
            )
        ]
    if isinstance(documented, list):
        if not isinstance(actual, list) or len(actual) != len(documented):
            return [f"{path}: expected {len(documented)} items, got {actual!r}"]
        pairs = enumerate(zip(documented, actual, strict=True))
        return [problem for n, (d, a) in pairs for problem in matches(d, a, ids, f"{path}[{n}]")]
    if path.endswith(".id") and isinstance(documented, int):
        if not isinstance(actual, int):
            return [f"{path}: expected an id, got {actual!r}"]
        bound = ids.setdefault(documented, actual)
        return [] if bound == actual else [f"{path}: README's {documented} was {bound} earlier, now {actual}"]
    return [] if documented == actual else [f"{path}: README says {documented!r}, the API answered {actual!r}"]


def run_curl(command: str, env: dict[str, str]) -> tuple[int, object]:
    result = subprocess.run(
        ["bash", "-c", command + " -sS -w '\\n%{http_code}'"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, f"curl failed: {result.stderr}"
    text, _, status = result.stdout.rpartition("\n")
    try:
        return int(status), json.loads(text)
    except ValueError:
        return int(status), text


def token_from_the_admin(client, account) -> str:
    """What the README tells a reader to do: API tokens → Add, copy the token shown once."""
    assert client.login(username="root", password=PASSWORD)
    page = client.post("/admin/messaging/apitoken/add/", {"account": account.pk, "name": "README", "_save": "Save"})
    found = CREATED_TOKEN.search(page.content.decode())
    assert found, "the admin did not show the new token"
    return found.group(1)


@pytest.fixture
def curl() -> str:
    path = shutil.which("curl")
    if path is None:
        services.missing("curl is not installed: the README's examples are curl commands")
    return path


@pytest.fixture
def shell_env(curl, live_server, client, root, simulator, simulated_account, settings) -> dict[str, str]:
    settings.JOBS_INLINE = True  # the conversions are reported to the simulator within the request
    _, exports = readme_examples()
    assert urlsplit(exports["SMSDASH"]).path == "/api/v1" and exports["TOKEN"].startswith("smsd_")
    token = token_from_the_admin(client, simulated_account(Provider.PLIVO))
    return {"PATH": str(Path(curl).parent), "SMSDASH": f"{live_server.url}/api/v1", "TOKEN": token}


def test_the_readme_documents_the_answer_of_every_api_example():
    examples, _ = readme_examples()
    api = [e for e in examples if "$SMSDASH" in e.command]
    assert len(api) >= 4, "the Ingest API section's curl examples were not found"
    assert [e.line for e in api if not e.answers] == [], "README lines whose example shows no answer"


def test_every_api_example_in_the_readme_answers_as_documented(shell_env):
    examples, _ = readme_examples()
    problems, ids = [], {}
    for example in (e for e in examples if "$SMSDASH" in e.command):
        for sending, answer in enumerate(example.answers, 1):
            status, body = run_curl(example.command, shell_env)
            where = f"README line {example.line}, sending {sending}"
            if status != answer.status:
                problems.append(f"{where}: README says {answer.status}, the API answered {status}: {body}")
            else:
                problems += [f"{where}: {p}" for p in matches(answer.body, body, ids)]
    assert problems == []


def test_every_simulator_example_in_the_readme_is_accepted(curl, simulator):
    examples, _ = readme_examples()
    found = [e for e in examples if SIMULATOR_HOST in e.command]
    assert found, "the simulator's curl example was not found"
    env = {"PATH": str(Path(curl).parent)}
    for example in found:
        command = example.command.replace(SIMULATOR_HOST, urlsplit(simulator.url).netloc)
        status, body = run_curl(command, env)
        assert 200 <= status < 300, f"README line {example.line}: {status} {body}"
        words = shlex.split(example.command)
        sent = json.loads(words[words.index("-d") + 1])
        provider = sent.pop("provider")
        assert matches(sent, simulator.stats()["faults"][provider], {}) == [], "the example's fault is in force"


def test_every_curl_in_the_readme_is_one_of_the_examples_run_here():
    examples, _ = readme_examples()
    assert [e.line for e in examples if "$SMSDASH" not in e.command and SIMULATOR_HOST not in e.command] == []
