"""probe(): the connection check against a real server and a refused port."""

from __future__ import annotations

import json

import pytest

import mailport


def test_probe_recommends_the_working_port(start_server, refused_port):
    server = start_server("--mode", "starttls")
    config = mailport.Config(host="127.0.0.1", ca_file=server.ca)
    report = mailport.probe(config, ports=[refused_port, server.port], deadline=15, greeting_wait=2)
    assert report.ok and bool(report)
    assert report.recommendation is not None
    assert report.recommendation.port == server.port
    assert report.recommendation.security == mailport.Security.STARTTLS
    assert report.recommendation.line == f"port={server.port} security=starttls"
    assert str(report.recommendation) == report.recommendation.line
    assert str(server.port) in report.recommendation.reason
    assert report.summary and str(report) == report.summary

    assert json.loads(report.json) == report.data
    assert report.data["schema"] == 1
    assert report.data["host"] == "127.0.0.1"
    assert [p["port"] for p in report.data["ports"]] == [refused_port, server.port]
    assert report.data["recommendation"]["port"] == server.port

    refused = [f for f in report.findings if f.port == refused_port]
    assert [f.code for f in refused] == ["port_refused"]
    assert refused[0].message and refused[0].hint
    assert refused[0].severity == "error"
    config.close()


def test_probe_with_nothing_working_is_a_report_not_an_error(refused_port):
    report = mailport.probe(
        f"smtp://127.0.0.1:{refused_port}", ports=[refused_port], deadline=5, skip_auth=True
    )
    assert not report.ok
    assert report.recommendation is None
    assert report.data["recommendation"] is None
    assert [f.code for f in report.findings] == ["port_refused"]


def test_probe_with_credentials_and_envelope(start_server):
    server = start_server("--mode", "starttls", "--auth", "u:pw", "--reject-rcpt", "nobody")
    config = mailport.Config(host="127.0.0.1", ca_file=server.ca, username="u", password="wrong")
    report = mailport.probe(config, ports=[server.port], deadline=15)
    assert not report.ok
    assert "auth_failed" in [f.code for f in report.findings]
    # Without trying the credentials, the port works.
    assert mailport.probe(config, ports=[server.port], deadline=15, skip_auth=True).ok

    config.update(username="u", password="pw")
    report = mailport.probe(
        config, ports=[server.port], deadline=15, envelope=("a@example.com", "nobody@example.org")
    )
    assert not report.ok
    assert "recipient_refused" in [f.code for f in report.findings]
    assert server.messages() == []  # nothing is ever sent
    config.close()


def test_probe_misuse_raises():
    with mailport.Config() as config, pytest.raises(mailport.InvalidArgumentError):
        mailport.probe(config)  # no host
    with mailport.Config(host="127.0.0.1") as config:
        with pytest.raises(mailport.InvalidArgumentError):
            mailport.probe(config, ports=[])
        with pytest.raises(mailport.InvalidArgumentError):
            mailport.probe(config, ports=[587, 587])
        with pytest.raises(mailport.InvalidArgumentError):
            mailport.probe(config, ports=[70000])
        with pytest.raises(mailport.InvalidArgumentError):
            mailport.probe(config, envelope=("a@example.com", ""))
