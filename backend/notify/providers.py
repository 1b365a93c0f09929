"""Delivery providers behind one small interface: `send(message) -> provider message id`.

Each speaks its provider's plain HTTP (or SMTP) protocol with its own request signing as the
provider documents it; no SDK. Which provider serves a channel is configuration (README,
"Notifications"): several at once, one per channel, SMS and voice chosen by the number's country.

A provider raises DeliveryError: `permanent` when retrying cannot help (a bad number, bad
credentials), otherwise the outbox retries with backoff.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import quote

import httpcore
import httpx

CHANNELS = ("push", "sms", "voice", "email")
# A deployment without a provider for a channel: the row fails with this reason, and it is not a
# delivery failure that raises an alert's next level (nobody could ever have been reached that way).
UNCONFIGURED = "no provider configured"
PROVIDER_NAMES = ("webhook", "smtp", "aliyun_sms", "aliyun_voice", "twilio_sms", "twilio_voice", "jpush")
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Message:
    """What a provider needs of one outbox row."""

    id: int
    channel: str
    template: str
    text: str
    locale: str = "zh-CN"
    params: Mapping = field(default_factory=dict)
    user_id: int | None = None
    phone: str | None = None
    email: str | None = None
    push_to: str | None = None
    alert_id: int | None = None
    level: int | None = None
    created_at: str | None = None
    subject: str = "FieldTrace"


class DeliveryError(Exception):
    """The provider did not take the message; `permanent` when a retry cannot succeed."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def _status_error(provider: str, response: httpx.Response, detail: str | None = None) -> DeliveryError:
    """The one retry rule of the HTTP providers: a 4xx other than 408/409/425/429 will not get better
    by retrying; a 5xx, 408, 409, 425 or 429 may. `detail`: the provider's own error text, if parsed."""
    code = response.status_code
    permanent = 400 <= code < 500 and code not in (408, 409, 425, 429)
    return DeliveryError(f"{provider}: HTTP {code} {detail or response.text[:300]}", permanent=permanent)


def _post(client: httpx.Client, provider: str, url: str, **kwargs) -> httpx.Response:
    try:
        return client.post(url, **kwargs)
    except httpx.HTTPError as exc:  # refused, reset, timed out: try again later
        raise DeliveryError(f"{provider}: {type(exc).__name__}: {exc}") from exc


class HttpProvider:
    """A provider speaking HTTP through one keep-alive client shared by the delivery threads."""

    name = "http"

    def __init__(self, client: httpx.Client | None = None):
        self.client = client or httpx.Client(timeout=TIMEOUT_S, limits=httpx.Limits(
            max_connections=64, max_keepalive_connections=64))

    def close(self) -> None:
        self.client.close()


# --- webhook -------------------------------------------------------------------------------------

def webhook_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`: what X-FieldTrace-Signature carries."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(message: Message) -> bytes:
    return json.dumps({
        "id": message.id, "channel": message.channel,
        "to": {"user_id": message.user_id, "phone": message.phone},
        "template": message.template, "text": message.text, "alert_id": message.alert_id,
        "level": message.level, "created_at": message.created_at,
    }, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookProvider:
    """One signed JSON POST per message; a 2xx is delivered, anything else (or a timeout) is retried.

    The one high-volume provider (every message of a mass alert may go through it), so it speaks
    through httpcore, httpx's own connection pool without httpx's request layers: measured here,
    205 us of CPU a request against httpx's 451 us, for the same keep-alive pool and timeouts.
    """

    name = "webhook"

    def __init__(self, url: str, secret: str, pool: httpcore.ConnectionPool | None = None):
        self.url, self.secret = url, secret
        self.pool = pool or httpcore.ConnectionPool(max_connections=64, max_keepalive_connections=64)
        self.timeouts = {"connect": TIMEOUT_S, "read": TIMEOUT_S, "write": TIMEOUT_S, "pool": TIMEOUT_S}

    def send(self, message: Message) -> str:
        body = webhook_body(message)
        try:
            response = self.pool.request("POST", self.url, content=body, headers={
                "Content-Type": "application/json", "X-FieldTrace-Signature": webhook_signature(self.secret, body),
                "X-FieldTrace-Delivery": str(message.id)}, extensions={"timeout": self.timeouts})
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status < 300:
            # A receiver's 4xx is still retried: the contract makes every non-2xx a retry.
            raise DeliveryError(f"webhook: HTTP {response.status} {response.content[:300]!r}")
        for name, value in response.headers:
            if name.lower() == b"x-message-id":
                return value.decode()
        return f"webhook-{message.id}"

    def close(self) -> None:
        self.pool.close()


# --- Alibaba Cloud (Dysmsapi / Dyvmsapi, RPC style, signature V2) ---------------------------------

def _pe(value: str) -> str:
    """Alibaba Cloud's percent-encoding: RFC 3986 unreserved kept, space %20, * %2A, ~ kept."""
    return quote(value, safe="~")


def aliyun_rpc_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    """Signature V2 (HMAC-SHA1) over every parameter except Signature, sorted by name."""
    canonical = "&".join(f"{_pe(k)}={_pe(str(v))}" for k, v in sorted(params.items()) if k != "Signature")
    string_to_sign = f"{method.upper()}&{_pe('/')}&{_pe(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Codes that mean "later": flow control and throttling; every other business code is final.
ALIYUN_RETRYABLE = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling", "ServiceUnavailable", "InternalError")


class AliyunRpcProvider(HttpProvider):
    """Common to Alibaba Cloud SMS and voice: signed RPC GET/POST with parameters in the query."""

    action = ""
    version = "2017-05-25"

    def __init__(self, endpoint: str, access_key_id: str, access_key_secret: str,
                 templates: Mapping[str, str], client: httpx.Client | None = None, **extra: str):
        super().__init__(client)
        self.endpoint, self.key_id, self.secret = endpoint, access_key_id, access_key_secret
        self.templates, self.extra = dict(templates), {k: v for k, v in extra.items() if v}

    def signed_params(self, params: Mapping[str, str], *, now: datetime | None = None,
                      nonce: str | None = None) -> dict[str, str]:
        signed = {**params, "Action": self.action, "Version": self.version, "AccessKeyId": self.key_id,
                  "Format": "JSON", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
                  "SignatureNonce": nonce or uuid.uuid4().hex,
                  "Timestamp": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        signed["Signature"] = aliyun_rpc_signature("POST", signed, self.secret)
        return signed

    def template_code(self, message: Message) -> str:
        code = self.templates.get(message.template)
        if not code:
            raise DeliveryError(f"{self.name}: no template code configured for {message.template!r}",
                                permanent=True)
        return code

    def call(self, params: Mapping[str, str]) -> dict:
        query = "&".join(f"{_pe(k)}={_pe(v)}" for k, v in self.signed_params(params).items())
        response = _post(self.client, self.name, f"{self.endpoint.rstrip('/')}/?{query}")
        try:
            body = response.json()
        except ValueError:
            raise _status_error(self.name, response) from None
        code = str(body.get("Code", ""))
        if response.status_code == 200 and code == "OK":
            return body
        retryable = response.status_code >= 500 or code.startswith(ALIYUN_RETRYABLE)
        raise DeliveryError(f"{self.name}: {code or response.status_code} {body.get('Message', '')}"[:500],
                            permanent=not retryable)


def _template_param(message: Message) -> str:
    """TemplateParam/TtsParam: a JSON string of the template's variables (strings, as Aliyun wants)."""
    return json.dumps({k: str(v) for k, v in message.params.items() if v is not None}, ensure_ascii=False,
                      separators=(",", ":"))


def _national(phone: str) -> str:
    """Aliyun takes mainland numbers without +86."""
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


class AliyunSmsProvider(AliyunRpcProvider):
    name, action = "aliyun_sms", "SendSms"

    def send(self, message: Message) -> str:
        if not message.phone:
            raise DeliveryError("aliyun_sms: no phone number", permanent=True)
        params = {"PhoneNumbers": _national(message.phone), "SignName": self.extra.get("sign_name", ""),
                  "TemplateCode": self.template_code(message), "TemplateParam": _template_param(message),
                  "OutId": str(message.id)}
        return str(self.call(params).get("BizId") or "")


class AliyunVoiceProvider(AliyunRpcProvider):
    name, action = "aliyun_voice", "SingleCallByTts"

    def send(self, message: Message) -> str:
        if not message.phone:
            raise DeliveryError("aliyun_voice: no phone number", permanent=True)
        params = {"CalledNumber": _national(message.phone), "TtsCode": self.template_code(message),
                  "TtsParam": _template_param(message), "PlayTimes": "3", "OutId": str(message.id)[:15]}
        if self.extra.get("show_number"):
            params["CalledShowNumber"] = self.extra["show_number"]
        return str(self.call(params).get("CallId") or "")


# --- Twilio ---------------------------------------------------------------------------------------

def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature of a request Twilio sends us (status callbacks): b64 HMAC-SHA1 of the URL
    followed by every POST parameter name and value, sorted by name."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


class TwilioProvider(HttpProvider):
    """Messages.json (SMS) or Calls.json (voice, the text read out with <Say>), Basic auth."""

    resource = "Messages.json"

    def __init__(self, base_url: str, account_sid: str, auth_token: str, *, from_number: str = "",
                 messaging_service_sid: str = "", client: httpx.Client | None = None):
        super().__init__(client)
        self.base_url, self.sid, self.token = base_url.rstrip("/"), account_sid, auth_token
        self.from_number, self.service_sid = from_number, messaging_service_sid

    def form(self, message: Message) -> dict[str, str]:
        raise NotImplementedError

    def send(self, message: Message) -> str:
        if not message.phone:
            raise DeliveryError(f"{self.name}: no phone number", permanent=True)
        url = f"{self.base_url}/2010-04-01/Accounts/{self.sid}/{self.resource}"
        response = _post(self.client, self.name, url, data=self.form(message), auth=(self.sid, self.token))
        if response.status_code in (200, 201):
            return str(response.json().get("sid", ""))
        try:
            detail = response.json()
        except ValueError:
            detail = {}
        raise _status_error(self.name, response, f"{detail.get('code', '')} {detail.get('message', response.text[:200])}")


class TwilioSmsProvider(TwilioProvider):
    name, resource = "twilio_sms", "Messages.json"

    def form(self, message: Message) -> dict[str, str]:
        sender = {"MessagingServiceSid": self.service_sid} if self.service_sid else {"From": self.from_number}
        return {"To": message.phone, **sender, "Body": message.text}


class TwilioVoiceProvider(TwilioProvider):
    name, resource = "twilio_voice", "Calls.json"

    def form(self, message: Message) -> dict[str, str]:
        text = message.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        language = "zh-CN" if message.locale == "zh-CN" else "en-US"
        return {"To": message.phone, "From": self.from_number,
                "Twiml": f'<Response><Say language="{language}" loop="3">{text}</Say></Response>'}


# --- JPush ----------------------------------------------------------------------------------------

class JPushProvider(HttpProvider):
    """Push API v3: one push per message to a registration id (or the alias `ft<user id>`)."""

    name = "jpush"

    def __init__(self, base_url: str, app_key: str, master_secret: str, *, apns_production: bool = True,
                 client: httpx.Client | None = None):
        super().__init__(client)
        self.url = base_url.rstrip("/") + "/v3/push"
        self.app_key, self.secret, self.apns_production = app_key, master_secret, apns_production

    def send(self, message: Message) -> str:
        if not message.push_to:
            raise DeliveryError("jpush: no registration id or alias", permanent=True)
        target = message.push_to
        audience = {"alias": [target[6:]]} if target.startswith("alias:") else {"registration_id": [target]}
        extras = {"notification_id": message.id, "alert_id": message.alert_id, "template": message.template}
        body = {
            "platform": "all", "audience": audience,
            "notification": {"alert": message.text,
                             "android": {"alert": message.text, "title": message.subject, "extras": extras},
                             "ios": {"alert": message.text, "sound": "default", "extras": extras}},
            "options": {"sendno": message.id % 2**31, "apns_production": self.apns_production},
        }
        response = _post(self.client, self.name, self.url, json=body, auth=(self.app_key, self.secret))
        if response.status_code == 200:
            return str(response.json().get("msg_id", ""))
        raise _status_error(self.name, response)


# --- SMTP -----------------------------------------------------------------------------------------

class SmtpProvider:
    """E-mail through the standard library's smtplib: one connection per message (threads share nothing)."""

    name = "smtp"

    def __init__(self, host: str, port: int, sender: str, *, username: str = "", password: str = "",
                 starttls: bool = False, timeout_s: float = TIMEOUT_S):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout_s = username, password, starttls, timeout_s

    def send(self, message: Message) -> str:
        if not message.email:
            raise DeliveryError("smtp: no e-mail address", permanent=True)
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.email, message.subject
        mail["Message-ID"] = make_msgid(idstring=f"ft{message.id}")
        mail.set_content(message.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"smtp: recipient refused {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from exc
        return mail["Message-ID"]

    def close(self) -> None:
        pass


# --- configuration --------------------------------------------------------------------------------

def _templates(spec: str) -> dict[str, str]:
    """`alert_staff=SMS_1,promise_reminder=SMS_2` -> mapping of our template names to provider codes."""
    pairs = (item.split("=", 1) for item in spec.split(",") if "=" in item)
    return {name.strip(): code.strip() for name, code in pairs}


def build_provider(name: str, config: Mapping) -> object:
    """One provider from the NOTIFY_* settings (README, "Notifications")."""
    c = config.get
    if name == "webhook":
        if not c("NOTIFY_WEBHOOK_URL"):
            raise ValueError("NOTIFY_WEBHOOK_URL is not set")
        return WebhookProvider(c("NOTIFY_WEBHOOK_URL"), c("NOTIFY_WEBHOOK_SECRET") or "")
    if name == "smtp":
        return SmtpProvider(c("NOTIFY_SMTP_HOST") or "127.0.0.1", int(c("NOTIFY_SMTP_PORT") or 25),
                            c("NOTIFY_SMTP_FROM") or "fieldtrace@localhost", username=c("NOTIFY_SMTP_USER") or "",
                            password=c("NOTIFY_SMTP_PASSWORD") or "",
                            starttls=str(c("NOTIFY_SMTP_STARTTLS") or "").lower() in ("1", "true", "yes"))
    if name in ("aliyun_sms", "aliyun_voice"):
        cls, default = ((AliyunSmsProvider, "https://dysmsapi.aliyuncs.com/") if name == "aliyun_sms"
                        else (AliyunVoiceProvider, "https://dyvmsapi.aliyuncs.com/"))
        prefix = "NOTIFY_ALIYUN_SMS" if name == "aliyun_sms" else "NOTIFY_ALIYUN_VOICE"
        return cls(c(f"{prefix}_ENDPOINT") or default, c("NOTIFY_ALIYUN_ACCESS_KEY_ID") or "",
                   c("NOTIFY_ALIYUN_ACCESS_KEY_SECRET") or "", _templates(c(f"{prefix}_TEMPLATES") or ""),
                   sign_name=c("NOTIFY_ALIYUN_SMS_SIGN_NAME") or "",
                   show_number=c("NOTIFY_ALIYUN_VOICE_SHOW_NUMBER") or "")
    if name in ("twilio_sms", "twilio_voice"):
        cls = TwilioSmsProvider if name == "twilio_sms" else TwilioVoiceProvider
        return cls(c("NOTIFY_TWILIO_BASE_URL") or "https://api.twilio.com", c("NOTIFY_TWILIO_ACCOUNT_SID") or "",
                   c("NOTIFY_TWILIO_AUTH_TOKEN") or "", from_number=c("NOTIFY_TWILIO_FROM") or "",
                   messaging_service_sid=c("NOTIFY_TWILIO_MESSAGING_SERVICE_SID") or "")
    if name == "jpush":
        return JPushProvider(c("NOTIFY_JPUSH_BASE_URL") or "https://api.jpush.cn", c("NOTIFY_JPUSH_APP_KEY") or "",
                             c("NOTIFY_JPUSH_MASTER_SECRET") or "",
                             apns_production=str(c("NOTIFY_JPUSH_APNS_PRODUCTION") or "true").lower() != "false")
    raise ValueError(f"unknown provider {name!r}; one of {', '.join(PROVIDER_NAMES)}")


CONFIG_KEYS = tuple(f"NOTIFY_{k}" for k in (
    "PUSH_PROVIDER", "SMS_PROVIDER", "SMS_PROVIDER_CN", "VOICE_PROVIDER", "VOICE_PROVIDER_CN", "EMAIL_PROVIDER",
    "WEBHOOK_URL", "WEBHOOK_SECRET", "SMTP_HOST", "SMTP_PORT", "SMTP_FROM", "SMTP_USER", "SMTP_PASSWORD",
    "SMTP_STARTTLS", "ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_ENDPOINT",
    "ALIYUN_SMS_TEMPLATES", "ALIYUN_SMS_SIGN_NAME", "ALIYUN_VOICE_ENDPOINT", "ALIYUN_VOICE_TEMPLATES",
    "ALIYUN_VOICE_SHOW_NUMBER", "TWILIO_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM",
    "TWILIO_MESSAGING_SERVICE_SID", "JPUSH_BASE_URL", "JPUSH_APP_KEY", "JPUSH_MASTER_SECRET",
    "JPUSH_APNS_PRODUCTION"))


class Providers:
    """The configured provider per channel (and per country for SMS and voice)."""

    def __init__(self, config: Mapping):
        self._by_name: dict[str, object] = {}
        self.config = config
        # A delivery job's sending threads share these: one provider (and its HTTP client) per name, never
        # a second one built beside it and never closed.
        self._lock = threading.Lock()

    def _get(self, name: str):
        with self._lock:
            if name not in self._by_name:
                self._by_name[name] = build_provider(name, self.config)
            return self._by_name[name]

    def for_message(self, message: Message):
        """The provider for a message, or raise a permanent DeliveryError when none is configured."""
        channel = message.channel.upper()
        name = None
        if message.phone and message.phone.startswith("+86") and channel in ("SMS", "VOICE"):
            name = self.config.get(f"NOTIFY_{channel}_PROVIDER_CN")
        name = name or self.config.get(f"NOTIFY_{channel}_PROVIDER")
        if not name:
            raise DeliveryError(f"no provider configured for {message.channel} (NOTIFY_{channel}_PROVIDER)",
                                permanent=True)
        try:
            return self._get(name)
        except ValueError as exc:
            raise DeliveryError(f"provider {name}: {exc}", permanent=True) from exc

    def close(self) -> None:
        with self._lock:
            for provider in self._by_name.values():
                provider.close()


_lock = threading.Lock()
_cache: dict[tuple, Providers] = {}


def providers_for(config: Mapping) -> Providers:
    """Providers for these settings, built once (their HTTP clients keep connections alive)."""
    key = tuple(str(config.get(k) or "") for k in CONFIG_KEYS)
    with _lock:
        if key not in _cache:
            _cache[key] = Providers({k: config.get(k) for k in CONFIG_KEYS})
        return _cache[key]
