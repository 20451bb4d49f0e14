"""sms+https:// (and sms+http://) — an SMS gateway that takes one JSON POST per message.

URL: `sms+https://HOST[:PORT]/PATH?OPTIONS` — the request goes to `https://HOST[:PORT]/PATH`
with the query parameters that are not options below. The body is JSON:
`{"to": "13812345678", "text": "…", "reference": "…"[, "sender": "…"]}`; any 2xx answer
means accepted. `reference` is the same on every retry of one notice, so a gateway that
deduplicates never sends a message twice.

Options:
    sender=NAME         sent as "sender" in the body (the SMS signature, e.g. BranchQ)
    timeout=SECONDS     per attempt, connect + answer (default 5)
    retries=N           further attempts after a timeout, a network error, 429 or 5xx
                        (default 2); another 4xx is not retried
    backoff=SECONDS     wait before the first retry, doubled for each next one (default 0.5)
    token_env=NAME      environment variable holding the gateway's secret
                        (default BRANCHQ_SMS_TOKEN); never written in the URL or the config
    auth_header=NAME    header carrying the secret (default Authorization, as "Bearer …";
                        another header gets the secret as it is, e.g. X-Api-Key)

Sends block (they run on the notification desk's worker thread, never the event loop).
"""

from __future__ import annotations

import logging
import os
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from queue_server.notify import Notice, NotifyFailed, mask

log = logging.getLogger(__name__)
DEFAULT_TOKEN_ENV = "BRANCHQ_SMS_TOKEN"
OPTIONS = ("sender", "timeout", "retries", "backoff", "token_env", "auth_header")


class HttpSmsNotifier:
    def __init__(
        self,
        endpoint: str,
        *,
        sender: str | None = None,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        token: str | None = None,
        auth_header: str = "Authorization",
    ) -> None:
        self.endpoint = endpoint
        self.sender = sender
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._headers = {"Content-Type": "application/json; charset=utf-8"}
        if token:
            is_bearer = auth_header.lower() == "authorization"
            self._headers[auth_header] = f"Bearer {token}" if is_bearer else token
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._closing = threading.Event()
        self.attempts = 0  # every POST tried, retries included

    def send(self, notice: Notice) -> None:
        body: dict[str, str] = {
            "to": notice.destination,
            "text": notice.text,
            "reference": notice.reference,
        }
        if self.sender:
            body["sender"] = self.sender
        problem = ""
        tried = 0
        for attempt in range(self.retries + 1):
            # An interruptible wait: stopping the server does not sit out the backoff.
            if attempt and self._closing.wait(self.backoff_s * 2 ** (attempt - 1)):
                break
            self.attempts += 1
            tried += 1
            try:
                response = self._client.post(self.endpoint, json=body, headers=self._headers)
            except httpx.HTTPError as exc:
                problem = type(exc).__name__  # never str(exc): it may quote the request
                continue
            if response.is_success:
                return
            problem = f"HTTP {response.status_code}"
            if response.status_code != 429 and response.status_code < 500:
                break  # the gateway refused this message: the same again would fail again
        raise NotifyFailed(
            f"SMS gateway did not take {notice.kind} for {notice.number} to "
            f"{mask(notice.destination)} ({problem}, {tried} attempt{'s' if tried != 1 else ''})"
        )

    def close(self) -> None:
        self._closing.set()
        self._client.close()


def from_url(url: str) -> HttpSmsNotifier:
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValueError("put the gateway's secret in BRANCHQ_SMS_TOKEN, not in the URL")
    scheme = parts.scheme.lower().removeprefix("sms+")
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = {k: v for k, v in query if k in OPTIONS}
    passed_on = [(k, v) for k, v in query if k not in OPTIONS]
    endpoint = urlunsplit((scheme, parts.netloc, parts.path or "/", urlencode(passed_on), ""))
    try:
        timeout_s = float(options.get("timeout", 5.0))
        retries = int(options.get("retries", 2))
        backoff_s = float(options.get("backoff", 0.5))
    except ValueError as exc:
        raise ValueError(f"bad SMS gateway option in the notifier URL: {exc}") from None
    if not 0 < timeout_s <= 60 or not 0 <= retries <= 10 or not 0 <= backoff_s <= 60:
        raise ValueError("SMS gateway options: 0 < timeout ≤ 60, 0 ≤ retries ≤ 10, backoff ≤ 60")
    token = os.environ.get(options.get("token_env", DEFAULT_TOKEN_ENV)) or None
    return HttpSmsNotifier(
        endpoint,
        sender=options.get("sender") or None,
        timeout_s=timeout_s,
        retries=retries,
        backoff_s=backoff_s,
        token=token,
        auth_header=options.get("auth_header", "Authorization"),
    )
