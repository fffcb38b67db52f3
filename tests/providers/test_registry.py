"""client_for: the provider's client, one per account per thread (so one set of keep-alive connections)."""

from __future__ import annotations

import threading

from apps.providers.clients import client_for
from apps.providers.clients.aliyun import AliyunClient
from apps.providers.clients.connection import basic_authorization
from apps.providers.clients.plivo import PlivoClient
from apps.providers.clients.tencent import TencentClient


def test_each_provider_gets_its_client_and_keeps_it(simulated_account):
    accounts = [simulated_account(p) for p in ("aliyun", "tencent", "plivo")]
    clients = [client_for(a) for a in accounts]
    assert [type(c) for c in clients] == [AliyunClient, TencentClient, PlivoClient]
    assert client_for(accounts[0]) is clients[0]  # same client, so its keep-alive connections are reused


def test_a_changed_account_gets_a_fresh_client(simulated_account):
    account = simulated_account("plivo")
    first = client_for(account)
    account.key_secret = "rotated-token"
    account.save()
    second = client_for(account)
    assert second is not first
    assert second.http.authorization == basic_authorization(account.key_id, "rotated-token")


def test_another_thread_gets_its_own_client(simulated_account):
    account = simulated_account("aliyun")
    mine, theirs = client_for(account), []
    thread = threading.Thread(target=lambda: theirs.append(client_for(account)))
    thread.start()
    thread.join()
    assert theirs[0] is not mine and theirs[0].account.pk == account.pk
