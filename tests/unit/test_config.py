"""Config loading: precedence, strict keys with suggestions, channel options, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentconsole import config as config_module
from agentconsole.config import ChannelConfig
from agentconsole.errors import ConfigError
from agentconsole.keymap import ACTIONS
from agentconsole.plugin import ChannelPlugin, FetchResult, Option, PermanentError

ROOT = Path(__file__).resolve().parents[2]


class MailLike(ChannelPlugin):
    type_name = "maillike"
    options = (
        Option("host", str, "server name", required=True),
        Option("port", int, "server port", default=993),
        Option("tls", str, "how to encrypt", default="ssl", choices=("ssl", "starttls", "none")),
        Option("folders", list, "folders to watch", default=["INBOX"]),
        Option("password", str, "the account password", secret=True, required=True),
    )

    async def fetch(self, cursor: str | None) -> FetchResult:
        return FetchResult((), cursor)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_explicit_beats_environment_beats_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xdg = tmp_path / "xdg"
    (xdg / "agentconsole").mkdir(parents=True)
    (xdg / "agentconsole" / "config.toml").write_text('[agent]\nname = "from-xdg"\n')
    env = tmp_path / "env.toml"
    env.write_text('[agent]\nname = "from-env"\n')
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('[agent]\nname = "from-flag"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.delenv("AGENTCONSOLE_CONFIG", raising=False)
    assert config_module.load(None).agent == "from-xdg"
    monkeypatch.setenv("AGENTCONSOLE_CONFIG", str(env))
    assert config_module.load(None).agent == "from-env"
    assert config_module.load(str(explicit)).agent == "from-flag"


def test_no_config_file_at_the_default_place_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("AGENTCONSOLE_CONFIG", raising=False)
    monkeypatch.setenv("AGENTCONSOLE_AGENT", "unix-or-env")
    config = config_module.load(None)
    assert config.channels == {} and config.agent == "unix-or-env"


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        config_module.load(str(tmp_path / "nope.toml"))


def test_unknown_keys_name_file_key_and_closest(tmp_path: Path) -> None:
    path = write(tmp_path, '[agnet]\nname = "x"\n')
    with pytest.raises(ConfigError) as error:
        config_module.load(str(path))
    assert str(path) in str(error.value) and "'agnet'" in str(error.value)
    assert "did you mean 'agent'" in str(error.value)
    path = write(tmp_path, '[keys]\nrepyl = "R"\n')
    with pytest.raises(ConfigError, match="did you mean 'reply'"):
        config_module.load(str(path))


def test_bad_toml_and_bad_types_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_module.load(str(write(tmp_path, "[agent\n")))
    with pytest.raises(ConfigError, match="sync.lease_seconds must be"):
        config_module.load(str(write(tmp_path, '[sync]\nlease_seconds = "soon"\n')))


@pytest.mark.parametrize("text", ["", "\n", " \t\r\n\n"])
def test_a_blank_config_is_an_empty_one(text: str, tmp_path: Path) -> None:
    path = write(tmp_path, text)
    assert config_module.load(str(path)) == config_module.parse({}, str(path))


@pytest.mark.parametrize("text", ["\x0c", "\u00a0", "\n\x0b"])
def test_blank_means_toml_whitespace_only(text: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_module.load(str(write(tmp_path, text)))


def test_channel_options_are_checked_against_the_plugin(tmp_path: Path) -> None:
    def channel(**options: object) -> ChannelConfig:
        return ChannelConfig("support", "maillike", True, dict(options), "cfg.toml")

    good = config_module.check_channel_options(
        channel(host="imap.example.com", password_command="echo s3cret"), MailLike
    )
    assert good["port"] == 993 and good["folders"] == ["INBOX"] and good["tls"] == "ssl"
    with pytest.raises(ConfigError, match=r"cfg.toml.*'hots'.*did you mean 'host'"):
        config_module.check_channel_options(channel(hots="x", password_env="P"), MailLike)
    with pytest.raises(ConfigError, match="needs host"):
        config_module.check_channel_options(channel(password_env="P"), MailLike)
    with pytest.raises(ConfigError, match="needs password_command"):
        config_module.check_channel_options(channel(host="h"), MailLike)
    with pytest.raises(ConfigError, match="must not be written in the config"):
        config_module.check_channel_options(channel(host="h", password="hunter2"), MailLike)
    with pytest.raises(ConfigError, match="port must be a whole number"):
        config_module.check_channel_options(
            channel(host="h", port="993", password_env="P"), MailLike
        )
    with pytest.raises(ConfigError, match="tls = 'maybe' is not one of"):
        config_module.check_channel_options(
            channel(host="h", tls="maybe", password_env="P"), MailLike
        )


def test_a_channel_without_type_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no 'type' key"):
        config_module.load(str(write(tmp_path, '[channels.support]\nhost = "x"\n')))


def test_secrets_from_command_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    resolve = config_module.secret_resolver("support", {"password_command": "printf 's3cret\\n'"})
    assert resolve("password") == "s3cret"
    failing = config_module.secret_resolver(
        "support", {"password_command": "echo nope >&2; exit 3"}
    )
    with pytest.raises(PermanentError, match="exit 3.*nope"):
        failing("password")
    monkeypatch.setenv("SUPPORT_PW", "from-env")
    assert (
        config_module.secret_resolver("s", {"password_env": "SUPPORT_PW"})("password") == "from-env"
    )
    with pytest.raises(PermanentError, match="MISSING_VAR"):
        config_module.secret_resolver("s", {"password_env": "MISSING_VAR"})("password")


def test_remapped_keys_replace_the_defaults(tmp_path: Path) -> None:
    config = config_module.load(str(write(tmp_path, '[keys]\nreply = "R,ctrl+r"\n')))
    assert config.keys["reply"] == "R,ctrl+r"
    assert config.keys["note"] == "n"
    assert set(config.keys) == {a.id for a in ACTIONS}


def test_the_example_config_loads_and_every_channel_in_it_validates() -> None:
    from agentconsole import plugins

    config = config_module.load(str(ROOT / "config.example.toml"))
    installed = plugins.discover(None)
    assert config.channels, "the example should show channels"
    for channel in config.channels.values():
        if channel.type in installed:
            config_module.check_channel_options(channel, plugins.load(installed[channel.type]))
    keys_documented = (ROOT / "config.example.toml").read_text()
    for action in ACTIONS:
        assert f"{action.id} =" in keys_documented, f"[keys] {action.id} is not documented"
