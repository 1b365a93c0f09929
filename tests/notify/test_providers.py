"""Each provider adapter against a local server that checks its signing and answers like the provider."""
from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from backend.notify import providers as provider_module
from backend.notify.providers import (
    AliyunSmsProvider,
    AliyunVoiceProvider,
    DeliveryError,
    JPushProvider,
    Message,
    Providers,
    SmtpProvider,
    TwilioSmsProvider,
    WebhookProvider,
    aliyun_rpc_signature,
    twilio_signature,
)
from tests.notify.conftest import (
    ALIYUN_ID,
    ALIYUN_SECRET,
    JPUSH_KEY,
    JPUSH_SECRET,
    TWILIO_SID,
    TWILIO_TOKEN,
    WEBHOOK_SECRET,
    Webhook,
    aliyun_handler,
    basic_auth_ok,
)

MESSAGE = Message(id=41, channel="sms", template="alert_staff", text="FieldTrace [L2] SOS: 张三",
                  params={"collector_name": "张三", "ack_code": "K7P2QX"}, user_id=7, phone="+8613800138000",
                  alert_id=3, level=2, created_at="2026-06-10T01:00:00+00:00", push_to="alias:ft7")


def test_aliyun_v2_signature_matches_the_documented_vector():
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
              "SignatureVersion": "1.0", "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert aliyun_rpc_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_twilio_signature_matches_the_documented_vector():
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
    assert twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == \
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_webhook_posts_the_documented_json_signed_with_hmac(provider_server):
    receiver = Webhook()
    server = provider_server(receiver)
    message_id = WebhookProvider(server.url + "/hook", WEBHOOK_SECRET).send(MESSAGE)
    [body] = receiver.delivered
    assert body == {"id": 41, "channel": "sms", "to": {"user_id": 7, "phone": "+8613800138000"},
                    "template": "alert_staff", "text": "FieldTrace [L2] SOS: 张三", "alert_id": 3, "level": 2,
                    "created_at": "2026-06-10T01:00:00+00:00"}
    assert message_id == "webhook-41"


def test_webhook_with_a_wrong_secret_is_refused_and_retryable(provider_server):
    receiver = Webhook()
    server = provider_server(receiver)
    with pytest.raises(DeliveryError) as refused:
        WebhookProvider(server.url + "/hook", "not-the-secret").send(MESSAGE)
    assert not refused.value.permanent and receiver.delivered == []


def test_webhook_unreachable_is_a_retryable_error():
    with pytest.raises(DeliveryError) as down:
        WebhookProvider("http://127.0.0.1:9/hook", WEBHOOK_SECRET).send(MESSAGE)
    assert not down.value.permanent


def test_aliyun_sms_is_signed_as_the_gateway_checks_and_sends_the_template(provider_server):
    server = provider_server(aliyun_handler({"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}))
    provider = AliyunSmsProvider(server.url, ALIYUN_ID, ALIYUN_SECRET, {"alert_staff": "SMS_1000"},
                                 sign_name="FieldTrace")
    assert provider.send(MESSAGE) == "900619746936498440^0"
    params = dict(parse_qsl(urlsplit(server.requests[0]["path"]).query))
    assert (params["Action"], params["Version"], params["PhoneNumbers"], params["TemplateCode"],
            params["SignName"]) == ("SendSms", "2017-05-25", "13800138000", "SMS_1000", "FieldTrace")
    assert json.loads(params["TemplateParam"]) == {"collector_name": "张三", "ack_code": "K7P2QX"}


def test_aliyun_wrong_secret_is_refused_by_the_gateway_for_good(provider_server):
    server = provider_server(aliyun_handler({"Code": "OK"}))
    provider = AliyunSmsProvider(server.url, ALIYUN_ID, "wrong", {"alert_staff": "SMS_1000"})
    with pytest.raises(DeliveryError, match="SignatureDoesNotMatch") as refused:
        provider.send(MESSAGE)
    assert refused.value.permanent


def test_aliyun_flow_control_is_retried_other_business_errors_are_not(provider_server):
    limited = provider_server(aliyun_handler({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "limit"}))
    illegal = provider_server(aliyun_handler({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}))
    for server, permanent in ((limited, False), (illegal, True)):
        provider = AliyunSmsProvider(server.url, ALIYUN_ID, ALIYUN_SECRET, {"alert_staff": "SMS_1000"})
        with pytest.raises(DeliveryError) as refused:
            provider.send(MESSAGE)
        assert refused.value.permanent is permanent


def test_aliyun_voice_calls_with_the_tts_template(provider_server):
    server = provider_server(aliyun_handler({"Code": "OK", "Message": "OK", "CallId": "116012354148^10281378"}))
    provider = AliyunVoiceProvider(server.url, ALIYUN_ID, ALIYUN_SECRET, {"alert_staff": "TTS_10001"})
    assert provider.send(MESSAGE) == "116012354148^10281378"
    params = dict(parse_qsl(urlsplit(server.requests[0]["path"]).query))
    assert (params["Action"], params["CalledNumber"], params["TtsCode"]) == (
        "SingleCallByTts", "13800138000", "TTS_10001")


def test_twilio_sms_uses_basic_auth_and_the_messages_form(provider_server):
    def twilio(request):
        if not basic_auth_ok(request, TWILIO_SID, TWILIO_TOKEN):
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if request["path"] != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            return 404, {"code": 20404, "message": "not found", "status": 404}
        form = dict(parse_qsl(request["body"].decode()))
        if not form.get("To", "").startswith("+1"):
            return 400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}
        return 201, {"sid": "SM" + "0" * 32, "status": "queued", "body": form["Body"]}

    server = provider_server(twilio)
    provider = TwilioSmsProvider(server.url, TWILIO_SID, TWILIO_TOKEN, from_number="+15005550006")
    us = Message(**{**MESSAGE.__dict__, "phone": "+14155550100"})
    assert provider.send(us) == "SM" + "0" * 32
    assert dict(parse_qsl(server.requests[0]["body"].decode()))["From"] == "+15005550006"
    with pytest.raises(DeliveryError, match="21211") as invalid:
        provider.send(MESSAGE)
    assert invalid.value.permanent


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (408, False), (429, False), (501, False)])
def test_twilio_follows_the_one_http_retry_rule(provider_server, status, permanent):
    server = provider_server(lambda request: (status, {"code": 30000 + status, "message": "no", "status": status}))
    provider = TwilioSmsProvider(server.url, TWILIO_SID, TWILIO_TOKEN, from_number="+15005550006")
    with pytest.raises(DeliveryError, match=str(30000 + status)) as refused:
        provider.send(Message(**{**MESSAGE.__dict__, "phone": "+14155550100"}))
    assert refused.value.permanent is permanent


def test_jpush_pushes_to_the_alias_with_basic_auth(provider_server):
    def jpush(request):
        if not basic_auth_ok(request, JPUSH_KEY, JPUSH_SECRET):
            return 401, {"error": {"code": 1004, "message": "Authen failed"}}
        body = json.loads(request["body"])
        if body["audience"] != {"alias": ["ft7"]}:
            return 400, {"error": {"code": 1011, "message": "cannot find user by this audience"}, "msg_id": "1"}
        return 200, {"sendno": str(body["options"]["sendno"]), "msg_id": "1828256757"}

    server = provider_server(jpush)
    assert JPushProvider(server.url, JPUSH_KEY, JPUSH_SECRET).send(MESSAGE) == "1828256757"
    body = json.loads(server.requests[0]["body"])
    assert body["notification"]["android"]["alert"] == MESSAGE.text and body["platform"] == "all"
    with pytest.raises(DeliveryError) as unknown:
        JPushProvider(server.url, JPUSH_KEY, JPUSH_SECRET).send(Message(**{**MESSAGE.__dict__, "push_to": "abc"}))
    assert unknown.value.permanent


def test_smtp_delivers_to_a_local_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    received = []

    class Keep(MessageHandler):
        def handle_message(self, message):
            received.append(message)

    with socket.socket() as probe:  # a free port: the controller's own start-up check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        provider = SmtpProvider("127.0.0.1", port, "alerts@fieldtrace.test")
        message_id = provider.send(Message(**{**MESSAGE.__dict__, "channel": "email", "email": "sup@example.cn"}))
    finally:
        controller.stop()
    [mail] = received
    assert (mail["To"], mail["From"], mail["Message-ID"]) == ("sup@example.cn", "alerts@fieldtrace.test", message_id)
    assert "张三" in mail.get_payload(decode=True).decode()


def test_sending_threads_asking_for_one_provider_at_once_share_one(monkeypatch):
    built, real = [], provider_module.build_provider

    def slow_build(name, config):
        built.append(name)
        time.sleep(0.05)  # the window in which a second thread used to build its own
        return real(name, config)

    monkeypatch.setattr(provider_module, "build_provider", slow_build)
    providers = Providers({"NOTIFY_PUSH_PROVIDER": "jpush"})
    push = Message(**{**MESSAGE.__dict__, "channel": "push"})
    found = []
    threads = [threading.Thread(target=lambda: found.append(providers.for_message(push))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["jpush"] and len({id(provider) for provider in found}) == 1
    providers.close()


def test_providers_pick_by_channel_and_number_country():
    providers = Providers({"NOTIFY_SMS_PROVIDER": "twilio_sms", "NOTIFY_SMS_PROVIDER_CN": "aliyun_sms",
                           "NOTIFY_PUSH_PROVIDER": "jpush"})
    assert providers.for_message(MESSAGE).name == "aliyun_sms"
    assert providers.for_message(Message(**{**MESSAGE.__dict__, "phone": "+14155550100"})).name == "twilio_sms"
    assert providers.for_message(Message(**{**MESSAGE.__dict__, "channel": "push"})).name == "jpush"
    with pytest.raises(DeliveryError, match="NOTIFY_VOICE_PROVIDER") as missing:
        providers.for_message(Message(**{**MESSAGE.__dict__, "channel": "voice"}))
    assert missing.value.permanent
