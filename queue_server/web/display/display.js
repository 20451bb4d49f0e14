// The hall display: a snapshot, then the live event stream; calls shown and announced.
//
// URL: /display?token=<display token>[&layout=portrait][&zone=A,B]
//
// Connection: the WebSocket /api/v1/events?token=… sends a snapshot, then events. After a
// drop the page reconnects (0.25 s doubling to 3 s) with since=<last seq>&epoch=<epoch>: the
// server replays what was missed ("resume"), or sends a fresh snapshot when it restarted
// (new epoch) or the gap is too old. Every event is applied once (seq <= last seq: skipped).
//
// Current call: the latest call, and only while it can be trusted. A call that arrives live
// becomes current; calls replayed after a gap, or found in a fresh snapshot, become current
// only when they are the latest and at most FRESH_S old (server time), or when they are the
// very call that was current before the gap. After STALE_AFTER_MS without a connection the
// current call is moved to the history: newer calls may have been made meanwhile.
//
// Announcements: every ticket.called / ticket.recalled (of this zone) is queued once (key:
// ticket id + recall count); one worker fetches its WAV from /api/v1/voice/call.wav and plays
// it to the end before the next starts, so they never overlap and keep the call order. Calls
// missed during a gap are announced when they are still fresh (ANNOUNCE_MAX_AGE_S).
//
// Autoplay: a TV's kiosk-mode Chromium must be started with
// --autoplay-policy=no-user-gesture-required; otherwise the page shows "tap to enable sound"
// until someone taps once (and keeps the announcements queued until then).
(function () {
  "use strict";

  const params = new URLSearchParams(window.location.search);
  const TOKEN = params.get("token") || "";
  const LAYOUT = params.get("layout") === "portrait" ? "portrait" : "landscape";
  const ZONE = (params.get("zone") || "")
    .split(",")
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const RECENT_N = LAYOUT === "portrait" ? 4 : 6; // as many as the layout shows whole
  const FRESH_S = 60; // a replayed or snapshot call this recent may still be the current one
  const ANNOUNCE_MAX_AGE_S = 60; // a call missed during a gap is announced up to this age
  const STALE_AFTER_MS = 15000; // disconnected this long: the current call is not trusted
  const SILENT_TIMEOUT_MS = 8000; // no frame (heartbeats come every 2 s): the link is dead
  const REFUSED_RETRY_MS = 30000;

  const $ = (id) => document.getElementById(id);
  const wallMs = () => performance.timeOrigin + performance.now();

  // ------------------------------------------------------------------ state
  const state = {
    texts: {}, // {zh: {key: text}, en: {...}} from /display/text.json (the shared catalogs)
    languages: ["zh", "en"],
    epoch: null,
    seq: null,
    branch: null,
    services: new Map(),
    // Per business, the server's waiting summary ({waiting, longest_wait_s, open_counters,
    // eta_new_s, eta_low_s, eta_high_s}): the snapshot's, then every "waits" message's.
    // Shown as sent: the page counts nothing and applies no wait rule of its own.
    waiting: {},
    waitsAfterSeq: 0, // the last event the waiting figures include
    calls: new Map(), // ticket id -> {id, number, service, counter, at, recall}
    current: null,
    currentBeforeGap: null,
    flashKey: null,
    notice: "", // the branch manager's notice
    // The head office's notice ({text, untilMs}), shown before the manager's until untilMs
    // by the server's clock: it ends on this page's timer, with no event from the server.
    centreNotice: null,
    offsetMs: 0, // server clock - this machine's clock, from the last frame with a time
    connection: "connecting", // connecting | live | reconnecting | refused
    disconnectedAt: null,
    frames: [], // the first message type of each connection: "snapshot" | "resume"
    shown: {}, // number -> wall-clock ms it became the current number in the DOM
  };

  // --------------------------------------------------------------------- text
  function tr(lang, key, values) {
    const table = state.texts[lang] || {};
    let text = table[key] ?? (state.texts.zh || {})[key] ?? key;
    for (const [k, v] of Object.entries(values || {})) {
      text = text.split("{" + k + "}").join(String(v));
    }
    return text;
  }
  const langs = () => state.languages.filter((l) => state.texts[l]);
  const primary = () => langs()[0] || "zh";
  const secondary = () => langs()[1] || null;
  // Where a narrow (portrait) screen has room for one language only.
  const compactLangs = () => (LAYOUT === "portrait" ? [primary()] : langs());

  function bilingual(el, key, values) {
    // Chinese first, English second (smaller), as the branch's languages say.
    el.textContent = tr(primary(), key, values);
    const second = secondary();
    if (second) {
      const span = document.createElement("span");
      span.className = "en";
      span.textContent = " " + tr(second, key, values);
      el.appendChild(span);
    }
  }

  function serviceName(code, lang) {
    const svc = state.services.get(code);
    if (!svc) return code;
    return svc.names[lang] || svc.names.zh || Object.values(svc.names)[0] || code;
  }

  const inZone = (service) => ZONE.length === 0 || ZONE.includes(String(service).toUpperCase());
  const serverNowMs = () => Date.now() + state.offsetMs;
  const ageS = (atMs) => (serverNowMs() - atMs) / 1000;

  function noteServerTime(iso) {
    if (iso) state.offsetMs = Date.parse(iso) - Date.now();
  }

  // -------------------------------------------------------------------- calls
  let rank = 0; // arrival order of calls: a snapshot's in (called_at, id) order, then events

  function callOf(ticket) {
    rank += 1;
    return {
      rank,
      id: ticket.id,
      number: ticket.number,
      service: ticket.service,
      counter: ticket.counter,
      at: Date.parse(ticket.called_at),
      recall: ticket.recall_count || 0,
    };
  }
  const callKey = (call) => call.id + ":" + call.recall;
  const sameCall = (a, b) => !!a && !!b && callKey(a) === callKey(b) && a.at === b.at;

  function latestCall() {
    let latest = null;
    for (const c of state.calls.values()) if (!latest || c.rank > latest.rank) latest = c;
    return latest;
  }

  function takeCall(ticket, live) {
    // One ticket.called / ticket.recalled event, in sequence order.
    if (!inZone(ticket.service) || !ticket.called_at || ticket.counter == null) return;
    const call = callOf(ticket);
    state.calls.set(call.id, call);
    const fresh = ageS(call.at) <= FRESH_S;
    if (latestCall() === call) {
      if (live || fresh) {
        state.current = call;
        state.flashKey = callKey(call);
      } else {
        state.current = null; // history only: too old to be "now calling"
      }
    }
    if (live || ageS(call.at) <= ANNOUNCE_MAX_AGE_S) announce(call);
  }

  function applySnapshot(snap) {
    const knewCalls = state.calls.size > 0 || state.seq !== null;
    const known = new Set([...state.calls.values()].map(callKey));
    const lastKnownAt = Math.max(0, ...[...state.calls.values()].map((c) => c.at));
    state.epoch = snap.epoch;
    state.seq = snap.seq;
    noteServerTime(snap.at);
    state.branch = snap.branch;
    state.notice = snap.branch.notice || "";
    state.centreNotice = centreNoticeOf(snap.branch.centre_notice);
    if (Array.isArray(snap.branch.languages) && snap.branch.languages.length) {
      state.languages = snap.branch.languages;
    }
    state.services = new Map(snap.services.map((s) => [s.code, s]));
    state.waiting = { ...(snap.waiting || {}) };
    state.waitsAfterSeq = snap.seq;
    const before = state.current || state.currentBeforeGap;
    state.calls = new Map();
    const calls = snap.recent_calls
      .filter((t) => t.called_at && t.counter != null && inZone(t.service))
      .sort((a, b) => Date.parse(a.called_at) - Date.parse(b.called_at) || a.id - b.id)
      .map(callOf);
    for (const c of calls) state.calls.set(c.id, c);
    const latest = latestCall();
    // The latest call is current when it is the one that was current before (nothing newer
    // happened), or when it is recent enough; older calls are history only.
    if (latest && (sameCall(latest, before) || ageS(latest.at) <= FRESH_S)) {
      state.current = latest;
      if (!sameCall(latest, before)) state.flashKey = callKey(latest);
    } else {
      state.current = null;
    }
    if (knewCalls) {
      // Calls made while this page was away: announced once, in order, when still fresh.
      for (const c of calls) {
        const isNew = !known.has(callKey(c)) && c.at >= lastKnownAt;
        if (isNew && ageS(c.at) <= ANNOUNCE_MAX_AGE_S) announce(c);
      }
    }
    state.currentBeforeGap = null;
  }

  function applyEvent(ev) {
    if (state.seq !== null && ev.seq <= state.seq) return false; // already applied
    state.seq = ev.seq;
    // The waiting figures move with the "waits" message the server sends after events.
    if (ev.ticket && (ev.kind === "ticket.called" || ev.kind === "ticket.recalled")) {
      takeCall(ev.ticket, ev.live);
    }
    if (ev.service) state.services.set(ev.service.code, ev.service);
    if (ev.kind === "branch.notice") state.notice = (ev.data && ev.data.text) || "";
    if (ev.kind === "branch.centre_notice") state.centreNotice = centreNoticeOf(ev.data);
    if (ev.kind === "config.applied" && ev.data && ev.data.opening_hours && state.branch) {
      state.branch.opening_hours = ev.data.opening_hours;
    }
    return true;
  }

  // The server's newest waiting summary (a "waits" message: not an event, no seq; the
  // events' sequence and the resume position are untouched by it).
  function applyWaits(msg) {
    if (msg.epoch !== state.epoch || !msg.waits) return false;
    Object.assign(state.waiting, msg.waits);
    state.waitsAfterSeq = msg.after_seq;
    return true;
  }

  // ------------------------------------------------------------------ render
  function render() {
    document.body.classList.toggle("layout-portrait", LAYOUT === "portrait");
    document.body.classList.toggle("layout-landscape", LAYOUT !== "portrait");
    document.documentElement.lang = primary() === "zh" ? "zh-CN" : primary();
    if (state.branch) $("branch-name").textContent = state.branch.name;
    if (ZONE.length) {
      $("zone-label").hidden = false;
      const names = ZONE.map((c) => serviceName(c, primary())).join(" · ");
      $("zone-label").textContent = tr(primary(), "display.zone") + ":" + names;
    }
    bilingual($("now-calling"), "display.now_calling");
    bilingual($("label-number"), "display.number");
    bilingual($("label-counter"), "display.counter");
    bilingual($("current-idle"), "display.current_none");
    bilingual($("recent-title"), "display.recent");
    bilingual($("waiting-title"), "display.waiting");
    renderCurrent();
    renderRecent();
    renderWaiting();
    renderNotice();
    renderHours();
    renderConnection();
    renderClock();
  }

  function renderCurrent() {
    const box = $("current");
    const call = state.current;
    box.classList.toggle("idle", !call);
    if (!call) return;
    const numberEl = $("current-number");
    if (numberEl.textContent !== call.number) numberEl.textContent = call.number;
    $("current-counter").textContent = String(call.counter);
    const key = call.recall ? "voice.recall" : "voice.call";
    const sentence = $("current-sentence");
    sentence.textContent = "";
    langs().forEach((lang, i) => {
      const line = document.createElement("span");
      if (i > 0) line.className = "en";
      line.textContent = tr(lang, key, { number: call.number, counter: call.counter });
      sentence.appendChild(line);
    });
    const badge = $("current-badge");
    badge.hidden = !call.recall;
    if (call.recall) badge.textContent = langs().map((l) => tr(l, "display.recalled")).join(" ");
    if (state.flashKey === callKey(call)) {
      state.flashKey = null;
      box.classList.remove("flash");
      void box.offsetWidth; // restart the animation for a call that follows quickly
      box.classList.add("flash");
    }
  }

  function renderRecent() {
    const list = $("recent-list");
    const items = [...state.calls.values()]
      .filter((c) => !state.current || c.id !== state.current.id)
      .sort((a, b) => b.rank - a.rank)
      .slice(0, RECENT_N);
    list.textContent = "";
    for (const c of items) {
      const li = document.createElement("li");
      li.dataset.ticket = String(c.id);
      const num = document.createElement("span");
      num.className = "r-number";
      num.textContent = c.number;
      const arrow = document.createElement("span");
      arrow.className = "r-arrow";
      arrow.textContent = "→";
      const ctr = document.createElement("span");
      ctr.className = "r-counter";
      ctr.textContent = String(c.counter) + " ";
      const word = document.createElement("small");
      word.textContent = compactLangs()
        .map((l) => tr(l, "display.counter"))
        .join(" ");
      ctr.appendChild(word);
      li.append(num, arrow, ctr);
      list.appendChild(li);
    }
  }

  // The server decides the minutes shown (wire/waits.py), as on the kiosk, the paper and the
  // phone: the display only words them.
  function waitText(lang, f) {
    if (f.wait_capped) return tr(lang, "display.wait_capped");
    const minutes = Math.max(1, f.wait_min);
    return tr(lang, "display.est_wait") + " " + tr(lang, "common.minutes", { minutes });
  }

  function renderWaiting() {
    const box = $("waiting-list");
    const figures = state.waiting;
    const services = [...state.services.values()]
      .filter((s) => inZone(s.code))
      .filter((s) => (s.enabled && s.visible) || (figures[s.code] && figures[s.code].waiting > 0))
      .sort((a, b) => a.sort - b.sort || (a.code < b.code ? -1 : 1));
    box.textContent = "";
    const p = primary();
    const s2 = secondary();
    for (const svc of services) {
      const f = figures[svc.code] || { waiting: 0, eta_new_s: null };
      const tile = document.createElement("div");
      tile.className = "svc";
      tile.dataset.service = svc.code;
      tile.dataset.waiting = String(f.waiting);
      const closed = f.wait_min === null || f.wait_min === undefined;
      tile.classList.toggle("closed", closed);
      const name = document.createElement("div");
      name.className = "svc-name";
      name.textContent = serviceName(svc.code, p);
      tile.appendChild(name);
      if (s2) {
        const en = document.createElement("div");
        en.className = "svc-name-en";
        en.textContent = serviceName(svc.code, s2);
        tile.appendChild(en);
      }
      const count = document.createElement("div");
      count.className = "svc-count";
      count.textContent = String(f.waiting) + " ";
      const unit = document.createElement("small");
      unit.textContent = p === "zh" ? "人" : "";
      count.appendChild(unit);
      tile.appendChild(count);
      const eta = document.createElement("div");
      eta.className = "svc-eta";
      for (const l of langs()) {
        const line = document.createElement("div");
        if (closed) line.textContent = tr(l, "display.closed");
        else if (f.waiting === 0) line.textContent = tr(l, "display.no_wait");
        else line.textContent = waitText(l, f);
        eta.appendChild(line);
      }
      tile.appendChild(eta);
      box.appendChild(tile);
    }
  }

  function centreNoticeOf(data) {
    if (!data || !data.text || !data.until) return null;
    const untilMs = Date.parse(data.until);
    return Number.isNaN(untilMs) ? null : { text: data.text, untilMs };
  }

  function centreNoticeText() {
    const c = state.centreNotice;
    return c && serverNowMs() < c.untilMs ? c.text : "";
  }

  let noticeShown = null;
  function renderNotice() {
    // The centre's notice first (with its label, so nobody takes it for the branch's), then
    // the manager's: one ticker, each part there while it runs.
    const centre = centreNoticeText();
    const footer = $("notice");
    footer.hidden = !state.notice && !centre;
    const key = JSON.stringify([centre, state.notice, langs()]);
    if (key === noticeShown) return;
    noticeShown = key;
    $("centre-notice").hidden = !centre;
    $("centre-notice-label").textContent = langs().map((l) => tr(l, "display.centre_notice")).join(" ");
    $("centre-notice-text").textContent = centre;
    $("notice-text").textContent = state.notice;
    // About 8 characters a second whatever the length: readable, never frantic.
    const length = centre.length + state.notice.length + (centre ? 20 : 0);
    const seconds = Math.max(12, (length + 40) / 8);
    $("notice-track").style.animationDuration = seconds + "s";
  }

  function renderConnection() {
    const mark = $("conn-mark");
    const refused = state.connection === "refused";
    $("refused").hidden = !refused;
    $("screen").hidden = refused;
    if (refused) {
      $("refused-title").textContent = langs().map((l) => tr(l, "display.not_authorised")).join(" / ");
      $("refused-detail").textContent = "";
      for (const l of langs()) {
        const line = document.createElement("div");
        line.textContent = tr(l, "display.not_authorised.detail");
        $("refused-detail").appendChild(line);
      }
    }
    mark.hidden = state.connection !== "reconnecting";
    if (!mark.hidden) mark.textContent = langs().map((l) => tr(l, "display.reconnecting")).join(" ");
    document.body.dataset.connection = state.connection;
  }

  function renderClock() {
    if (!state.branch) return;
    const now = new Date(serverNowMs());
    const tz = state.branch.timezone || undefined;
    const time = new Intl.DateTimeFormat("zh-CN", {
      timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(now);
    const date = compactLangs()
      .map((l) =>
        new Intl.DateTimeFormat(l === "zh" ? "zh-CN" : "en-GB", {
          timeZone: tz, year: "numeric", month: l === "zh" ? "long" : "short",
          day: "numeric", weekday: l === "zh" ? "long" : "short",
        }).format(now),
      )
      .join("  ");
    if ($("clock-time").textContent !== time) $("clock-time").textContent = time;
    if ($("clock-date").textContent !== date) $("clock-date").textContent = date;
  }

  // -------------------------------------------------------------------- hours
  const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const DAY_MS = 24 * 3600 * 1000;

  function branchDay(ms) {
    // The branch's local weekday, date and HH:MM at `ms` (server time).
    const parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: state.branch.timezone || undefined, weekday: "short", month: "numeric",
      day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
    }).formatToParts(new Date(ms)).forEach((p) => { parts[p.type] = p.value; });
    const hour = parts.hour === "24" ? "00" : parts.hour;
    return {
      weekday: parts.weekday.slice(0, 3).toLowerCase(),
      month: Number(parts.month), day: Number(parts.day), hhmm: hour + ":" + parts.minute,
    };
  }

  // The same rule as the server's branch_closed refusal and the kiosk's banner: a day the
  // head office lists with no hours is closed; a day it does not list has no branch limit.
  function closedNow() {
    const hours = state.branch && state.branch.opening_hours;
    if (!hours || !Object.keys(hours).length) return null;
    const now = serverNowMs();
    const today = branchDay(now);
    if (!(today.weekday in hours)) return null;
    const h = hours[today.weekday];
    const open = h.length === 2;
    if (open && h[0] <= today.hhmm && today.hhmm < h[1]) return null;
    if (open && today.hhmm < h[0]) return { key: "hours.before", values: { opens: h[0], closes: h[1] } };
    const values = open ? { opens: h[0], closes: h[1] } : {};
    let when = "none";
    for (let ahead = 1; ahead <= 7; ahead++) {
      const day = branchDay(now + ahead * DAY_MS);
      if (!(day.weekday in hours)) break; // no branch-wide hours then: nothing to promise
      const next = hours[day.weekday];
      if (next.length === 2) {
        when = ahead === 1 ? "tomorrow" : "later";
        Object.assign(values, { next: next[0], month: day.month, day: day.day });
        break;
      }
    }
    return { key: "hours." + (open ? "after" : "closed") + "_" + when, values };
  }

  let hoursShown = null;
  function renderHours() {
    const closed = closedNow();
    const key = JSON.stringify([closed, langs()]);
    if (key === hoursShown) return;
    hoursShown = key;
    document.body.classList.toggle("branch-closed", closed !== null);
    $("hours").hidden = closed === null;
    if (closed) bilingual($("hours-text"), closed.key, closed.values);
  }

  // ------------------------------------------------------------ announcements
  const announcements = []; // the log: one entry per queued announcement, in queue order
  const queue = [];
  const announcedKeys = new Set();
  let audioCtx = null;
  let working = false;

  function audio() {
    if (!audioCtx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      audioCtx = Ctx ? new Ctx() : null;
    }
    return audioCtx;
  }

  function soundLocked() {
    const ctx = audio();
    return !!ctx && ctx.state !== "running";
  }

  function announce(call) {
    const key = callKey(call);
    if (announcedKeys.has(key)) return;
    announcedKeys.add(key);
    const entry = {
      key, id: call.id, number: call.number, counter: call.counter, recall: call.recall,
      calledAt: call.at, state: "queued", queuedAt: wallMs(),
      startedAt: null, endedAt: null, status: null, error: null, seconds: null,
    };
    announcements.push(entry);
    queue.push(entry);
    pump();
  }

  function voiceUrl(entry) {
    // A recall sounds as the call did (the voice endpoint caches one WAV per call).
    const q = new URLSearchParams({ number: entry.number, counter: String(entry.counter) });
    return "/api/v1/voice/call.wav?" + q.toString();
  }

  async function fetchVoice(entry) {
    const r = await fetch(voiceUrl(entry), { headers: { Authorization: "Bearer " + TOKEN } });
    entry.status = r.status;
    if (!r.ok) throw new Error("voice answered " + r.status);
    return r.arrayBuffer();
  }

  function play(buffer) {
    return new Promise((resolve) => {
      const ctx = audio();
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      source.connect(ctx.destination);
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      source.onended = finish;
      // A sink that never reports the end must not stall the queue for good.
      setTimeout(finish, buffer.duration * 1000 + 1500);
      source.start();
    });
  }

  async function pump() {
    if (working) return;
    working = true;
    try {
      while (queue.length) {
        if (soundLocked()) {
          showSoundOverlay(true);
          return; // resumed by the tap
        }
        const entry = queue.shift();
        if (!entry.fetched) entry.fetched = fetchVoice(entry);
        if (queue[0] && !queue[0].fetched) {
          queue[0].fetched = fetchVoice(queue[0]); // the next one downloads while this plays
          queue[0].fetched.catch(() => {}); // its failure is reported when its turn comes
        }
        try {
          entry.state = "fetching";
          const bytes = await entry.fetched;
          const buffer = await audio().decodeAudioData(bytes);
          entry.seconds = buffer.duration;
          entry.state = "playing";
          entry.startedAt = wallMs();
          await play(buffer);
          entry.endedAt = wallMs();
          entry.state = "done";
        } catch (err) {
          entry.state = "failed";
          entry.error = String(err && err.message ? err.message : err);
          entry.endedAt = wallMs();
        }
        delete entry.fetched;
      }
    } finally {
      working = false;
    }
  }

  function showSoundOverlay(show) {
    const overlay = $("sound-overlay");
    overlay.hidden = !show;
    if (show) {
      $("sound-text").textContent = "";
      for (const l of langs()) {
        const line = document.createElement("div");
        line.textContent = tr(l, "display.sound_off");
        $("sound-text").appendChild(line);
      }
    }
  }

  function unlockSound() {
    const ctx = audio();
    if (!ctx) return;
    ctx.resume().then(() => {
      showSoundOverlay(false);
      pump();
    });
  }

  // --------------------------------------------------------------- the stream
  let socket = null;
  let retryMs = 250;
  let retryTimer = null;
  let silentTimer = null;
  let held = false; // tests: branchqDisplay.disconnect() holds reconnection until connect()
  let resuming = false; // between a "resume" message and the replayed batch

  function streamUrl() {
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams({ token: TOKEN });
    if (state.seq !== null && state.epoch) {
      q.set("since", String(state.seq));
      q.set("epoch", state.epoch);
    }
    return proto + "//" + window.location.host + "/api/v1/events?" + q.toString();
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (socket || held) return;
    let first = true;
    const ws = new WebSocket(streamUrl());
    socket = ws;
    ws.onmessage = (msg) => {
      if (socket !== ws) return;
      armSilentTimer(ws);
      let data;
      try {
        data = JSON.parse(msg.data);
      } catch (err) {
        return;
      }
      if (first) {
        first = false;
        state.frames.push(data.type);
        retryMs = 250;
        setConnection("live");
      }
      onMessage(data);
    };
    ws.onclose = (ev) => {
      if (socket !== ws) return;
      socket = null;
      clearTimeout(silentTimer);
      if (ev.code === 4401) {
        setConnection("refused");
        scheduleReconnect(REFUSED_RETRY_MS);
        return;
      }
      lostConnection();
      scheduleReconnect(retryMs);
      retryMs = Math.min(retryMs * 2, 3000);
    };
    ws.onerror = () => {}; // onclose follows and decides
  }

  function armSilentTimer(ws) {
    clearTimeout(silentTimer);
    silentTimer = setTimeout(() => {
      if (socket === ws) ws.close(); // a dead link that never said so: start over
    }, SILENT_TIMEOUT_MS);
  }

  function scheduleReconnect(ms) {
    clearTimeout(retryTimer);
    if (!held) retryTimer = setTimeout(connect, ms);
  }

  function lostConnection() {
    if (state.connection === "live" || state.connection === "connecting") {
      state.disconnectedAt = Date.now();
      state.currentBeforeGap = state.current;
    }
    if (state.connection !== "refused" || state.seq !== null) setConnection("reconnecting");
  }

  function setConnection(value) {
    if (state.connection === value) return;
    state.connection = value;
    if (value === "live") state.disconnectedAt = null;
    render();
  }

  function onMessage(data) {
    if (data.type === "snapshot") {
      applySnapshot(data);
      render();
    } else if (data.type === "resume") {
      // Nothing is lost: the call that was current stays so until a newer one arrives.
      if (!state.current && state.currentBeforeGap) state.current = state.currentBeforeGap;
      state.currentBeforeGap = null;
      resuming = true;
      render();
    } else if (data.type === "events") {
      // The first batch after a resume replays the gap: its calls are not trusted as live
      // (they get the same freshness test as a snapshot's calls).
      let changed = false;
      for (const ev of data.events) {
        ev.live = !resuming;
        changed = applyEvent(ev) || changed;
      }
      resuming = false;
      if (changed) render();
    } else if (data.type === "waits") {
      noteServerTime(data.at);
      if (applyWaits(data)) render();
    } else if (data.type === "heartbeat") {
      noteServerTime(data.at);
      renderNotice();
      resuming = false;
    }
  }

  // --------------------------------------------------------------- the clock
  function tick() {
    renderClock();
    renderNotice(); // the centre's notice ends at its `until` with no event
    renderHours(); // the branch opens and closes by the clock, with no event
    if (
      state.connection === "reconnecting" &&
      state.current &&
      state.disconnectedAt !== null &&
      Date.now() - state.disconnectedAt > STALE_AFTER_MS
    ) {
      state.current = null; // kept in currentBeforeGap: restored if nothing newer happened
      render();
    }
  }

  // ------------------------------------------------------------ for the tests
  function watchCurrentNumber() {
    // The moment a number becomes the current one in the DOM (`bench display` reads it).
    const el = $("current-number");
    new MutationObserver(() => {
      const number = el.textContent;
      if (number && !(number in state.shown)) state.shown[number] = wallMs();
    }).observe(el, { childList: true, characterData: true, subtree: true });
  }

  window.branchqDisplay = {
    get connection() { return state.connection; },
    get current() {
      const c = state.current;
      return c ? { id: c.id, number: c.number, counter: c.counter, recall: c.recall } : null;
    },
    get history() {
      return [...document.querySelectorAll("#recent-list .r-number")].map((e) => e.textContent);
    },
    get calls() { return [...state.calls.values()].map((c) => c.number); },
    get seq() { return state.seq; },
    get waits() { return state.waiting; },
    get waitsAfterSeq() { return state.waitsAfterSeq; },
    get epoch() { return state.epoch; },
    get notice() { return state.notice; },
    get centreNotice() { return centreNoticeText(); },
    get hours() { return $("hours").hidden ? null : $("hours-text").textContent; },
    get frames() { return state.frames.slice(); },
    get waiting() { return state.waiting; },
    get queueLength() { return queue.length; },
    get soundLocked() { return soundLocked(); },
    announcements,
    shown: state.shown,
    layout: LAYOUT,
    zone: ZONE,
    disconnect() {
      held = true;
      clearTimeout(retryTimer);
      if (socket) socket.close();
    },
    connect() {
      held = false;
      connect();
    },
    unlockSound,
  };

  // -------------------------------------------------------------------- start
  async function start() {
    watchCurrentNumber();
    ["click", "touchstart", "keydown"].forEach((kind) =>
      document.addEventListener(kind, unlockSound, { passive: true }),
    );
    try {
      const r = await fetch("/display/text.json");
      state.texts = await r.json();
    } catch (err) {
      state.texts = {};
    }
    render();
    if (!TOKEN) {
      setConnection("refused");
      return;
    }
    // Ask once at start whether the browser lets this page play sound by itself.
    if (soundLocked()) showSoundOverlay(true);
    connect();
    setInterval(tick, 1000);
  }

  start();
})();
