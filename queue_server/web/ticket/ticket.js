// The customer's live ticket: /t/<token> (the token comes from the QR code on the ticket).
//
// Data: GET /api/v1/public/tickets/<token> once, then the WebSocket
// /api/v1/public/tickets/<token>/events, which sends {"type": "ticket", "ticket": view}
// whenever the view changes and {"type": "heartbeat"} every few seconds. A dead link
// (closed, or silent for SILENT_TIMEOUT_MS) is reopened after 0.5 s doubling to 15 s; while
// it is down the view is polled now and then. 4404 / 4410 (unknown / expired) are final.
//
// SMS: GET/POST/DELETE <API>/notify. The section shows only while the ticket waits and the
// branch has an SMS gateway (`offered`); the number is sent once, then only shown masked.
//
// Alerts: when the ticket is called (or called again) the phone vibrates and beeps
// (WebAudio, generated here) once per call, where the browser allows; a browser that
// blocks sound until a tap shows "tap to turn on the alert sound".
(function () {
  "use strict";

  const TOKEN = decodeURIComponent(window.location.pathname.split("/").filter(Boolean).pop() || "");
  const API = "/api/v1/public/tickets/" + encodeURIComponent(TOKEN);
  const SILENT_TIMEOUT_MS = 10000; // heartbeats come every 2 s
  const POLL_MS = 15000; // while the live link is down
  const LATE_CHOICES = [5, 10, 15, 20, 30];
  const NOTIFY = API + "/notify";
  // A mainland mobile number, as the server takes it (notify/__init__.py normalise_phone).
  const MOBILE = /^1[3-9]\d{9}$/;
  const SMS_ERRORS = {
    invalid_request: "phone.sms_error_invalid",
    too_many_changes: "phone.sms_error_too_often",
    ticket_closed: "phone.sms_error_closed",
  };
  const FINAL = new Set(["no_show", "cancelled", "transferred", "expired", "not_found"]);

  const $ = (id) => document.getElementById(id);
  const state = {
    texts: {},
    lang: pickLanguage(),
    view: null,
    final: null, // "expired" | "not_found" once the server says so
    alerted: null, // key of the call already announced
    rating: null,
    ws: null,
    backoff: 500,
    silentTimer: null,
    pollTimer: null,
    audio: null,
    live: false,
    sms: null, // the server's notify status for this ticket
    smsError: null, // the catalogue key of the last refusal
  };

  function pickLanguage() {
    const asked = new URLSearchParams(window.location.search).get("lang");
    if (asked === "en" || asked === "zh") return asked;
    try {
      const saved = window.localStorage.getItem("branchq.lang");
      if (saved === "en" || saved === "zh") return saved;
    } catch (e) {
      /* private mode */
    }
    return "zh";
  }

  function t(key, values) {
    const table = state.texts[state.lang] || {};
    let text = table[key] ?? (state.texts.zh || {})[key] ?? key;
    for (const [k, v] of Object.entries(values || {})) text = text.split("{" + k + "}").join(String(v));
    return text;
  }

  function setText(id, text) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  function show(id, on) {
    $(id).hidden = !on;
  }

  // ----------------------------------------------------------------- network
  async function fetchView() {
    try {
      const r = await fetch(API, { cache: "no-store" });
      if (r.status === 404) return setFinal("not_found");
      if (r.status === 410) return setFinal("expired");
      if (r.ok) update(await r.json());
    } catch (e) {
      /* offline: the live link or the poll will try again */
    }
  }

  function connect() {
    if (state.final) return;
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(proto + "//" + window.location.host + API + "/events");
    } catch (e) {
      return retry();
    }
    state.ws = ws;
    ws.onopen = () => {
      state.backoff = 500;
      setLive(true);
      touch();
    };
    ws.onmessage = (m) => {
      touch();
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      if (msg.type === "ticket") update(msg.ticket);
    };
    ws.onclose = (e) => {
      if (state.ws !== ws) return;
      state.ws = null;
      clearTimeout(state.silentTimer);
      if (e.code === 4404) return setFinal("not_found");
      if (e.code === 4410) return setFinal("expired");
      setLive(false);
      retry();
    };
  }

  function touch() {
    clearTimeout(state.silentTimer);
    state.silentTimer = setTimeout(() => {
      if (state.ws) state.ws.close(); // silent too long: the link is dead
    }, SILENT_TIMEOUT_MS);
  }

  function retry() {
    if (state.final) return;
    setTimeout(connect, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 15000);
  }

  function setLive(live) {
    state.live = live;
    clearInterval(state.pollTimer);
    if (!live && !state.final) state.pollTimer = setInterval(fetchView, POLL_MS);
    renderConn();
  }

  async function post(path, body) {
    let r;
    try {
      r = await fetch(API + path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body || {}),
      });
    } catch (e) {
      message(t("phone.error_generic"));
      return null;
    }
    if (r.ok) {
      const view = await r.json();
      update(view);
      return view;
    }
    if (r.status === 429) message(t("phone.error_rate_limited"));
    else if (r.status === 410) setFinal("expired");
    else if (r.status === 404) setFinal("not_found");
    else {
      let text = t("phone.error_generic");
      try {
        const err = (await r.json()).error;
        if (err && err.message && state.lang === "en") text = err.message;
      } catch (e) {
        /* not JSON */
      }
      message(text);
      fetchView();
    }
    return null;
  }

  async function fetchSms() {
    try {
      const r = await fetch(NOTIFY, { cache: "no-store" });
      if (r.ok) state.sms = await r.json();
    } catch (e) {
      /* offline: the section stays as it was */
    }
    render();
  }

  function compactPhone(raw) {
    let p = raw.replace(/[\s-]/g, "");
    if (p.startsWith("+86")) p = p.slice(3);
    else if (p.startsWith("0086")) p = p.slice(4);
    else if (p.length === 13 && p.startsWith("86")) p = p.slice(2);
    return p;
  }

  async function changeSms(method, body) {
    let r;
    try {
      r = await fetch(NOTIFY, {
        method: method,
        headers: { "Content-Type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      state.smsError = "phone.error_generic";
      render();
      return false;
    }
    if (r.ok) {
      state.sms = await r.json();
      state.smsError = null;
      render();
      return true;
    }
    let code = null;
    try {
      code = (await r.json()).error.code;
    } catch (e) {
      /* not JSON */
    }
    if (r.status === 404 || r.status === 410) {
      setFinal(r.status === 404 ? "not_found" : "expired");
      return false;
    }
    state.smsError = SMS_ERRORS[code] || (r.status === 429 ? "phone.error_rate_limited" : "phone.error_generic");
    render();
    fetchSms();
    return false;
  }

  async function optIn() {
    const phone = compactPhone($("sms-phone").value);
    if (!MOBILE.test(phone)) {
      state.smsError = "phone.sms_error_invalid"; // not sent: the server never sees it
      render();
      $("sms-phone").focus();
      return;
    }
    $("sms-submit").disabled = true;
    if (await changeSms("POST", { phone: phone, language: state.lang })) $("sms-phone").value = "";
    $("sms-submit").disabled = false;
  }

  async function optOut() {
    $("sms-cancel").disabled = true;
    if (await changeSms("DELETE")) message(t("phone.sms_cancelled"));
    $("sms-cancel").disabled = false;
  }

  // ------------------------------------------------------------------ alerts
  function ensureAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!state.audio) {
      try {
        state.audio = new Ctx();
      } catch (e) {
        return null;
      }
    }
    if (state.audio.state === "suspended") state.audio.resume().catch(() => {});
    return state.audio;
  }

  function beep() {
    const ctx = ensureAudio();
    if (!ctx || ctx.state !== "running") return false;
    const start = ctx.currentTime + 0.05;
    [0, 0.35, 0.7].forEach((offset, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = i === 2 ? 1320 : 880;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.5, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.28);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.3);
    });
    return true;
  }

  function alertCall(view) {
    const key = view.called_at + "|" + view.recall_count;
    if (state.alerted === key) return;
    state.alerted = key;
    window.__ticketAlerts = (window.__ticketAlerts || 0) + 1; // for the page's tests
    if (navigator.vibrate) {
      try {
        navigator.vibrate([400, 200, 400, 200, 800]);
      } catch (e) {
        /* not allowed */
      }
    }
    beep();
    const card = $("called");
    card.classList.remove("flash");
    void card.offsetWidth; // restart the animation
    card.classList.add("flash");
  }

  function unlockSound() {
    const ctx = ensureAudio();
    // Hidden a moment later: a bar vanishing under the finger would move the tap's target.
    const later = () => setTimeout(renderSound, 400);
    if (ctx && ctx.state === "suspended") ctx.resume().then(later, () => {});
    else later();
  }

  // ------------------------------------------------------------------ render
  function update(view) {
    if (!view || state.final) return;
    state.view = view;
    if (view.state === "called") alertCall(view);
    render();
  }

  function setFinal(kind) {
    state.final = kind;
    clearInterval(state.pollTimer);
    if (state.ws) {
      const ws = state.ws;
      state.ws = null;
      ws.close();
    }
    render();
  }

  function clockTime(iso) {
    const d = new Date(iso);
    const opts = { hour: "2-digit", minute: "2-digit", hour12: false };
    const tz = state.view && state.view.timezone;
    try {
      return d.toLocaleTimeString(state.lang === "zh" ? "zh-CN" : "en-GB", tz ? { ...opts, timeZone: tz } : opts);
    } catch (e) {
      return d.toLocaleTimeString([], opts);
    }
  }

  function counterText(v) {
    if (state.lang === "zh" && v.counter_name) return v.counter_name;
    return t("phone.counter_default", { counter: v.counter });
  }

  function render() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.title = t("phone.title");
    setText("lang", t("phone.lang_switch"));
    setText("loading", t("phone.loading"));
    const v = state.view;
    const kind = state.final || (v ? v.state : null);
    show("loading", !kind);
    setText("branch", (v && v.branch) || t("phone.title"));
    renderConn();
    renderSound();
    if (!kind) return;

    const known = v && !state.final;
    show("ticket", !!v && kind !== "not_found");
    if (v) {
      setText("number-label", t("phone.ticket_number"));
      setText("number", v.number);
      const names = v.service_names || {};
      setText("service", names[state.lang] || names.zh || v.service);
    }

    // waiting
    const waiting = known && kind === "waiting";
    show("waiting", waiting);
    if (waiting) {
      setText("ahead-label", t("phone.ahead"));
      setText("ahead", v.position > 0 ? t("phone.ahead_count", { n: v.position }) : t("phone.ahead_none"));
      $("ahead").classList.toggle("long", v.position <= 0); // a phrase, not a count: one line
      setText("eta-label", t("phone.eta"));
      // The server decides the minutes shown (wire/waits.py), as on the kiosk, the paper and
      // the display: this page only words them.
      if (v.wait_min == null) {
        setText("eta", "—");
        setText("eta-range", t("phone.eta_unknown"));
      } else if (v.wait_capped) {
        setText("eta", t("phone.eta_capped"));
        setText("eta-range", t("phone.eta_capped_advice"));
      } else if (v.wait_min <= 1) {
        setText("eta", t("phone.eta_soon"));
        setText("eta-range", "");
      } else {
        setText("eta", t("phone.eta_value", { median: v.wait_min }));
        const ranged = v.wait_low_min != null && v.wait_high_min != null;
        setText("eta-range", ranged ? t("phone.eta_range", { low: v.wait_low_min, high: v.wait_high_min }) : "");
      }
      const slot = v.appointment_slot_start && v.appointment_slot_end;
      show("appointment", !!slot);
      if (slot)
        setText("appointment", t("phone.appointment_slot", {
          start: clockTime(v.appointment_slot_start),
          end: clockTime(v.appointment_slot_end),
        }));
      show("held", !!v.held_until);
      if (v.held_until) setText("held", t("phone.held_until", { time: clockTime(v.held_until) }));
      setText("waiting-hint", t("phone.waiting_hint"));
    }

    renderSms(waiting);

    // called, recalled, serving
    const active = known && (kind === "called" || kind === "serving");
    show("called", active);
    if (active) {
      const recalled = kind === "called" && v.recall_count > 0;
      if (kind === "serving") {
        setText("called-title", t("phone.serving_title"));
        setText("called-where", counterText(v));
        setText("called-hint", "");
      } else {
        setText("called-title", t(recalled ? "phone.recalled_title" : "phone.called_title"));
        setText("called-where", t("phone.go_to", { counter: counterText(v) }));
        setText("called-hint", recalled ? t("phone.recalled_hint") : v.counter_location || "");
      }
    }

    // done and the rating
    const done = known && kind === "done";
    show("done", done);
    if (done) {
      setText("done-title", t("phone.done_title"));
      show("rate", v.can_rate);
      show("rated", !v.can_rate);
      setText("rated", v.rated ? t("phone.rate_thanks") : t("phone.rate_closed"));
      setText("rate-prompt", t("phone.rate_prompt"));
      document.querySelectorAll(".rate-btn").forEach((b) => {
        const r = Number(b.dataset.rating);
        b.textContent = t("phone.rate_" + r);
        b.setAttribute("aria-pressed", String(state.rating === r));
      });
      setText("comment-label", t("phone.comment_label"));
      setText("comment-count", t("phone.comment_count", { n: $("comment").value.length }));
      setText("rate-submit", t("phone.rate_submit"));
      $("rate-submit").disabled = state.rating == null;
    }

    // final states
    const isFinal = FINAL.has(kind);
    show("final", isFinal);
    if (isFinal) {
      const hints = { no_show: "phone.no_show_hint", cancelled: "phone.cancelled_hint", expired: "phone.expired_hint", not_found: "phone.not_found_hint" };
      setText("final-title", t("phone." + kind + "_title"));
      setText("final-hint", hints[kind] ? t(hints[kind]) : "");
    }

    renderGuidance(known && (kind === "waiting" || kind === "called") ? v : null);

    // actions
    show("actions", waiting);
    if (waiting) {
      show("late-open", v.late_left > 0);
      setText("late-open", t("phone.late_button"));
      setText("late-left", v.late_left > 0 ? t("phone.late_left", { n: v.late_left }) : "");
      setText("cancel-open", t("phone.cancel_button"));
    } else {
      closeDialogs();
    }
    setText("late-title", t("phone.late_title"));
    setText("late-hint", t("phone.late_hint"));
    setText("late-back", t("phone.back"));
    setText("cancel-title", t("phone.cancel_confirm_title"));
    setText("cancel-hint", t("phone.cancel_confirm_hint"));
    setText("cancel-yes", t("phone.cancel_yes"));
    setText("cancel-no", t("phone.cancel_no"));
    renderLateChoices();
  }

  function renderSms(waiting) {
    const s = state.sms;
    const on = !!(waiting && s && s.offered);
    if (s) $("sms").dataset.offered = String(!!s.offered); // the server has answered
    show("sms", on);
    if (!on) return;
    setText("sms-title", t("phone.sms_title"));
    setText("sms-when", s.near > 0 ? t("phone.sms_when_near", { n: s.near }) : t("phone.sms_when_called"));
    show("sms-form", !s.opted_in);
    show("sms-on", s.opted_in);
    setText("sms-label", t("phone.sms_label"));
    $("sms-phone").placeholder = t("phone.sms_placeholder");
    setText("sms-submit", t("phone.sms_submit"));
    setText("sms-consent", t("phone.sms_consent"));
    show("sms-error", !!state.smsError);
    setText("sms-error", state.smsError ? t(state.smsError) : "");
    $("sms-phone").setAttribute("aria-invalid", String(!!state.smsError && !s.opted_in));
    setText("sms-on-text", s.opted_in ? t("phone.sms_on", { phone: s.destination }) : "");
    setText("sms-cancel", t("phone.sms_cancel"));
  }

  function renderGuidance(v) {
    const g = v && v.guidance ? v.guidance[state.lang] || v.guidance.zh : null;
    const has = g && (g.documents.length || g.steps.length || g.where || g.alternative);
    show("guidance", !!has);
    if (!has) return;
    setText("guidance-title", t("phone.guidance_title"));
    const docs = $("guidance-docs");
    docs.replaceChildren(...g.documents.map((d) => el("li", d)));
    const more = $("guidance-more");
    const parts = [];
    if (g.steps.length) {
      parts.push(el("h3", t("phone.guidance_steps")));
      const ol = document.createElement("ol");
      ol.replaceChildren(...g.steps.map((s) => el("li", s)));
      parts.push(ol);
    }
    if (g.where) parts.push(el("h3", t("phone.guidance_where")), el("p", g.where));
    if (g.alternative) parts.push(el("h3", t("phone.guidance_alternative")), el("p", g.alternative));
    more.replaceChildren(...parts);
  }

  function el(tag, text) {
    const e = document.createElement(tag);
    e.textContent = text;
    return e;
  }

  function renderLateChoices() {
    const v = state.view;
    const max = v ? v.late_max_minutes : 30;
    const box = $("late-choices");
    const want = LATE_CHOICES.filter((n) => n <= max);
    if (box.childElementCount !== want.length || box.dataset.lang !== state.lang) {
      box.dataset.lang = state.lang;
      box.replaceChildren(
        ...want.map((n) => {
          const b = el("button", t("phone.late_minutes", { n: n }));
          b.type = "button";
          b.dataset.minutes = String(n);
          return b;
        })
      );
    }
  }

  function renderConn() {
    const down = !state.live && !state.final && state.view && !FINAL.has(state.view.state);
    show("conn", !!down);
    if (down) setText("conn", t("phone.offline"));
  }

  function renderSound() {
    const v = state.view;
    const waiting = v && !state.final && v.state === "waiting";
    const Ctx = window.AudioContext || window.webkitAudioContext;
    const blocked = !!Ctx && (!state.audio || state.audio.state !== "running");
    show("sound", !!(waiting && blocked));
    setText("sound", t("phone.sound_enable"));
  }

  let messageTimer = null;
  function message(text) {
    setText("message", text);
    show("message", true);
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => show("message", false), 6000);
  }

  function closeDialogs() {
    show("late-dialog", false);
    show("cancel-dialog", false);
  }

  // ------------------------------------------------------------------ events
  function wire() {
    $("lang").addEventListener("click", () => {
      state.lang = state.lang === "zh" ? "en" : "zh";
      try {
        window.localStorage.setItem("branchq.lang", state.lang);
      } catch (e) {
        /* private mode */
      }
      render();
    });
    // Any tap may unlock sound (browsers allow audio only after a gesture).
    document.addEventListener("pointerdown", unlockSound, { passive: true });
    $("sound").addEventListener("click", unlockSound);

    $("late-open").addEventListener("click", () => show("late-dialog", true));
    $("late-back").addEventListener("click", () => show("late-dialog", false));
    $("late-choices").addEventListener("click", async (e) => {
      const b = e.target.closest("button");
      if (!b) return;
      show("late-dialog", false);
      const view = await post("/late", { minutes: Number(b.dataset.minutes) });
      if (view && view.held_until) message(t("phone.late_done", { time: clockTime(view.held_until) }));
    });

    $("sms-form").addEventListener("submit", (e) => {
      e.preventDefault();
      optIn();
    });
    $("sms-phone").addEventListener("input", () => {
      if (state.smsError) {
        state.smsError = null;
        render();
      }
    });
    $("sms-cancel").addEventListener("click", optOut);

    $("cancel-open").addEventListener("click", () => show("cancel-dialog", true));
    $("cancel-no").addEventListener("click", () => show("cancel-dialog", false));
    $("cancel-yes").addEventListener("click", async () => {
      show("cancel-dialog", false);
      await post("/cancel");
    });

    document.querySelectorAll(".rate-btn").forEach((b) =>
      b.addEventListener("click", () => {
        state.rating = Number(b.dataset.rating);
        render();
      })
    );
    $("comment").addEventListener("input", () => {
      setText("comment-count", t("phone.comment_count", { n: $("comment").value.length }));
    });
    $("rate").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (state.rating == null) return;
      $("rate-submit").disabled = true;
      const view = await post("/rating", { rating: state.rating, comment: $("comment").value.trim() });
      if (!view) $("rate-submit").disabled = false;
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !state.final) fetchView(); // back from sleep
    });
  }

  async function start() {
    wire();
    ensureAudio(); // runs at once where autoplay is allowed; else after the first tap
    try {
      const r = await fetch("/ticket/text.json");
      state.texts = await r.json();
    } catch (e) {
      state.texts = {};
    }
    render();
    if (!TOKEN) return setFinal("not_found");
    await fetchView();
    connect();
    if (!state.final) fetchSms();
  }

  start();
})();
