// The public booking page: business → day → free slot → confirm → the slip with its QR code.
//
// Endpoints (no token): GET /api/v1/public/book/services (businesses, guidance, days),
// GET …/slots?service=&day=, POST /api/v1/public/book {service, slot_start},
// POST …/cancel {booking_number, cancel_code}. Text comes from /book/text.json (the shared
// catalogs' "book." keys); business names and guidance come with the services.
//
// Times are shown as the server writes them (the branch's local time, with its offset), so a
// phone set to another time zone still shows the branch's clock. Bookings made here are kept
// in this browser's localStorage (number, cancel code, QR) so the slip can be shown again;
// nothing about the customer is asked for or stored anywhere.
(function () {
  "use strict";

  const API = "/api/v1/public/book";
  const STORE = "branchq.book.bookings";
  const LANG_STORE = "branchq.book.lang";
  const $ = (id) => document.getElementById(id);

  const params = new URLSearchParams(window.location.search);
  const state = {
    texts: {},
    lang: pickLanguage(),
    offer: null, // {branch, today, days, slot_min, early_min, grace_min, services}
    service: null,
    day: null,
    slots: [],
    slot: null,
    booking: null, // the booking shown on the slip
    screen: "loading",
    ready: false,
    slotsFor: "", // "service|day" the slots shown belong to
  };
  window.branchqBook = state; // for a look from the browser's console

  function pickLanguage() {
    const asked = params.get("lang");
    if (asked === "zh" || asked === "en") return asked;
    try {
      const kept = window.localStorage.getItem(LANG_STORE);
      if (kept === "zh" || kept === "en") return kept;
    } catch (e) {
      /* storage may be off: Chinese first */
    }
    return "zh";
  }

  // ------------------------------------------------------------------ text
  function t(key, values) {
    const own = state.texts[state.lang] || {};
    let text = own[key] ?? (state.texts.zh || {})[key] ?? key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  function named(names) {
    return (names && (names[state.lang] || names.zh || Object.values(names)[0])) || "";
  }

  function guidanceOf(service) {
    const g = service.guidance || {};
    return g[state.lang] || g.zh || Object.values(g)[0] || null;
  }

  function serviceByCode(code) {
    return (state.offer?.services || []).find((s) => s.code === code) || null;
  }

  function dayLabel(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    const weekday = t("book.weekdays").split(",")[(new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7];
    const days = state.offer?.days || [];
    const index = days.indexOf(iso);
    const near = index === 0 ? t("book.today") : index === 1 ? t("book.tomorrow") : weekday;
    return { near, date: state.lang === "zh" ? `${m}月${d}日` : `${d}/${m}`, weekday };
  }

  function whenText(start, end) {
    const day = dayLabel(start.slice(0, 10));
    const span = `${start.slice(11, 16)}–${end.slice(11, 16)}`;
    return `${day.date} ${day.weekday} ${span}`;
  }

  function applyTexts() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    document.title = t("book.title");
  }

  // ------------------------------------------------------------------ network
  async function call(path, options) {
    let response;
    try {
      response = await fetch(API + path, {
        headers: { "Content-Type": "application/json" },
        ...options,
      });
    } catch (e) {
      throw { code: "failed" };
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw { code: body?.error?.code || "failed", status: response.status };
    return body;
  }

  function errorText(error) {
    const key = "book.error." + (error?.code || "failed");
    return t(key) === key ? t("book.error.failed") : t(key);
  }

  function show(id, text) {
    const el = $(id);
    el.textContent = text || "";
    el.hidden = !text;
  }

  // ------------------------------------------------------------------ screens
  function go(screen) {
    state.screen = screen;
    $("loading").hidden = screen !== "loading";
    $("choose").hidden = screen !== "choose";
    $("done").hidden = screen !== "done";
    $("cancel").hidden = screen !== "cancel";
    $("confirm").hidden = true;
    $("ask").hidden = true;
    document.body.dataset.screen = screen;
    window.scrollTo(0, 0);
  }

  function renderAll() {
    applyTexts();
    if (!state.offer) return;
    $("branch-name").textContent = state.offer.branch;
    renderServices();
    renderGuidance();
    renderDays();
    renderSlots();
    renderSelection();
    renderMine();
    if (state.booking) renderSlip();
  }

  function choice(cls, selected, onPick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls + (selected ? " selected" : "");
    b.setAttribute("role", "radio");
    b.setAttribute("aria-checked", selected ? "true" : "false");
    b.addEventListener("click", onPick);
    return b;
  }

  function renderServices() {
    const box = $("services");
    box.replaceChildren();
    for (const s of state.offer.services) {
      const b = choice("service", s.code === state.service, () => pickService(s.code));
      b.dataset.code = s.code;
      const name = document.createElement("span");
      name.className = "service-name";
      name.textContent = named(s.names);
      b.append(name);
      const docs = guidanceOf(s)?.documents || [];
      if (docs.length) {
        const hint = document.createElement("span");
        hint.className = "service-hint";
        hint.textContent = docs.join(" · ");
        b.append(hint);
      }
      box.append(b);
    }
  }

  function guidanceBlock(service) {
    const g = guidanceOf(service);
    const frag = document.createDocumentFragment();
    if (!g) return frag;
    const part = (key, items, ordered) => {
      if (!items || !items.length) return;
      const h = document.createElement("h3");
      h.textContent = t(key);
      const list = document.createElement(ordered ? "ol" : "ul");
      for (const item of items) {
        const li = document.createElement("li");
        li.textContent = item;
        list.append(li);
      }
      frag.append(h, list);
    };
    part("book.bring", g.documents, false);
    part("book.steps", g.steps, true);
    if (g.where) part("book.where", [g.where], false);
    if (g.alternative) part("book.alternative", [g.alternative], false);
    return frag;
  }

  function renderGuidance() {
    const box = $("guidance");
    const service = serviceByCode(state.service);
    box.replaceChildren(service ? guidanceBlock(service) : "");
    box.hidden = !service || !box.childElementCount;
  }

  function renderDays() {
    const box = $("days");
    box.replaceChildren();
    for (const iso of state.offer.days) {
      const label = dayLabel(iso);
      const b = choice("day", iso === state.day, () => pickDay(iso));
      b.dataset.day = iso;
      const near = document.createElement("span");
      near.className = "day-near";
      near.textContent = label.near;
      const date = document.createElement("span");
      date.className = "day-date";
      date.textContent = label.date;
      b.append(near, date);
      box.append(b);
    }
  }

  function renderSlots() {
    const box = $("slots");
    box.replaceChildren();
    const shown = state.slotsFor === `${state.service}|${state.day}`;
    const note = !state.service
      ? t("book.pick_service_first")
      : shown && !state.slots.some((s) => s.bookable)
        ? t("book.no_slots")
        : "";
    show("slots-note", note);
    if (!shown) return;
    for (const s of state.slots) {
      const b = choice("slot", s.slot_start === state.slot, () => pickSlot(s.slot_start));
      b.dataset.start = s.slot_start;
      b.disabled = !s.bookable;
      const time = document.createElement("span");
      time.className = "slot-time";
      time.textContent = s.slot_start.slice(11, 16);
      const room = document.createElement("span");
      room.className = "slot-room";
      const started = !s.bookable && s.free > 0;
      room.textContent = started ? t("book.past") : s.free > 0 ? t("book.free", { n: s.free }) : t("book.full");
      b.append(time, room);
      box.append(b);
    }
  }

  function renderSelection() {
    const service = serviceByCode(state.service);
    const slot = state.slots.find((s) => s.slot_start === state.slot);
    $("selection").textContent =
      service && slot ? `${named(service.names)} · ${whenText(slot.slot_start, slot.slot_end)}` : "";
    $("book").disabled = !(service && slot && slot.bookable);
  }

  // ------------------------------------------------------------------ choosing
  function pickService(code) {
    state.service = code;
    state.slot = null;
    renderServices();
    renderGuidance();
    loadSlots();
  }

  function pickDay(iso) {
    state.day = iso;
    state.slot = null;
    renderDays();
    loadSlots();
  }

  function pickSlot(start) {
    state.slot = start;
    renderSlots();
    renderSelection();
  }

  async function loadSlots() {
    renderSlots();
    renderSelection();
    if (!state.service || !state.day) return;
    const wanted = `${state.service}|${state.day}`;
    try {
      const query = new URLSearchParams({ service: state.service, day: state.day });
      const slots = await call(`/slots?${query}`);
      if (wanted !== `${state.service}|${state.day}`) return; // picked something else meanwhile
      state.slots = slots;
      state.slotsFor = wanted;
      show("page-error", "");
      if (!slots.some((s) => s.slot_start === state.slot && s.bookable)) state.slot = null;
    } catch (error) {
      show("page-error", errorText(error));
    }
    renderSlots();
    renderSelection();
  }

  // ------------------------------------------------------------------ booking
  function openConfirm() {
    const service = serviceByCode(state.service);
    const slot = state.slots.find((s) => s.slot_start === state.slot);
    if (!service || !slot) return;
    $("confirm-service").textContent = named(service.names);
    $("confirm-when").textContent = whenText(slot.slot_start, slot.slot_end);
    $("confirm-bring").replaceChildren(guidanceBlock(service));
    show("confirm-error", "");
    $("confirm-ok").disabled = false;
    $("confirm-ok").textContent = t("book.confirm.ok");
    $("confirm").hidden = false;
    $("confirm-ok").focus();
  }

  async function book() {
    const ok = $("confirm-ok");
    ok.disabled = true;
    ok.textContent = t("book.booking");
    try {
      const booking = await call("", {
        method: "POST",
        body: JSON.stringify({ service: state.service, slot_start: state.slot }),
      });
      remember(booking);
      state.booking = booking;
      state.slot = null;
      go("done");
      renderSlip();
      loadSlots();
    } catch (error) {
      show("confirm-error", errorText(error));
      ok.textContent = t("book.confirm.ok");
      ok.disabled = error.code === "slot_full" || error.code === "slot_in_past";
      if (ok.disabled) loadSlots(); // show what is left
    }
  }

  function renderSlip() {
    const b = state.booking;
    const service = serviceByCode(b.service);
    $("qr").innerHTML = b.qr_svg; // the server's own SVG of the QR text
    $("qr-text").textContent = b.qr;
    $("done-service").textContent = service ? named(service.names) : b.service;
    $("done-when").textContent = whenText(b.slot_start, b.slot_end);
    $("done-number").textContent = b.booking_number;
    $("done-code").textContent = b.cancel_code;
    const offer = state.offer || {};
    $("done-window").textContent = t("book.done.window", {
      early: offer.early_min ?? 0,
      grace: offer.grace_min ?? 0,
    });
    $("done-bring").replaceChildren(service ? guidanceBlock(service) : "");
    show("done-error", "");
  }

  function saveQr() {
    // The SVG drawn on a canvas and saved as a PNG: a picture a phone can keep in its photos.
    const b = state.booking;
    const svg = $("qr").querySelector("svg");
    if (!b || !svg) return;
    const size = 600;
    const source = new XMLSerializer().serializeToString(svg);
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = size;
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, size, size);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(image, 0, 0, size, size);
      const link = document.createElement("a");
      link.download = `booking-${b.booking_number}.png`;
      link.href = canvas.toDataURL("image/png");
      document.body.append(link);
      link.click();
      link.remove();
    };
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(source);
  }

  // ------------------------------------------------------------------ cancelling
  let asked = null; // what "yes" cancels

  function ask(booking) {
    asked = booking;
    $("ask-text").textContent = t("book.cancel.ask", {
      when: whenText(booking.slot_start, booking.slot_end || booking.slot_start),
    });
    $("ask").hidden = false;
    $("ask-no").focus();
  }

  async function cancel(number, code) {
    return call("/cancel", {
      method: "POST",
      body: JSON.stringify({ booking_number: number, cancel_code: code }),
    });
  }

  async function confirmCancel() {
    const booking = asked;
    $("ask").hidden = true;
    if (!booking) return;
    try {
      await cancel(booking.booking_number, booking.cancel_code);
      forget(booking.booking_number);
      state.booking = null;
      go("choose");
      renderMine();
      show("page-note", t("book.cancel.done"));
      loadSlots();
    } catch (error) {
      if (error.code === "appointment_cancelled") forget(booking.booking_number);
      show("done-error", errorText(error));
    }
  }

  async function cancelByForm(event) {
    event.preventDefault();
    show("cancel-error", "");
    show("cancel-done", "");
    const number = $("cancel-number").value.trim();
    const code = $("cancel-code").value.trim();
    try {
      await cancel(number, code);
      forget(number.replace(/[\s-]/g, "").toUpperCase());
      show("cancel-done", t("book.cancel.done"));
      renderMine();
      loadSlots();
    } catch (error) {
      show("cancel-error", errorText(error));
    }
  }

  // ------------------------------------------------------------------ this device's bookings
  function stored() {
    try {
      const list = JSON.parse(window.localStorage.getItem(STORE) || "[]");
      return Array.isArray(list) ? list : [];
    } catch (e) {
      return [];
    }
  }

  function store(list) {
    try {
      window.localStorage.setItem(STORE, JSON.stringify(list));
    } catch (e) {
      /* private mode: the slip on screen is all there is */
    }
  }

  function remember(booking) {
    store([...stored().filter((b) => b.booking_number !== booking.booking_number), booking]);
  }

  function forget(number) {
    store(stored().filter((b) => b.booking_number !== number));
  }

  function renderMine() {
    // Kept until their day has passed (days are compared as the branch's dates).
    const today = state.offer?.today || "";
    const list = stored().filter((b) => b.slot_start.slice(0, 10) >= today);
    if (list.length !== stored().length) store(list);
    const box = $("mine-list");
    box.replaceChildren();
    for (const b of list.sort((x, y) => x.slot_start.localeCompare(y.slot_start))) {
      const li = document.createElement("li");
      const service = serviceByCode(b.service);
      const text = document.createElement("span");
      text.textContent = `${service ? named(service.names) : b.service} · ${whenText(b.slot_start, b.slot_end)} · ${b.booking_number}`;
      const open = document.createElement("button");
      open.type = "button";
      open.className = "link";
      open.textContent = t("book.mine.show");
      open.addEventListener("click", () => {
        state.booking = b;
        go("done");
        renderSlip();
      });
      li.append(text, open);
      box.append(li);
    }
    $("mine").hidden = !list.length;
  }

  // ------------------------------------------------------------------ start
  function wire() {
    $("language").addEventListener("click", () => {
      state.lang = state.lang === "zh" ? "en" : "zh";
      try {
        window.localStorage.setItem(LANG_STORE, state.lang);
      } catch (e) {
        /* fine: this visit only */
      }
      renderAll();
    });
    $("book").addEventListener("click", openConfirm);
    $("confirm-back").addEventListener("click", () => ($("confirm").hidden = true));
    $("confirm-ok").addEventListener("click", book);
    $("save").addEventListener("click", saveQr);
    $("print").addEventListener("click", () => window.print());
    $("done-cancel").addEventListener("click", () => state.booking && ask(state.booking));
    $("ask-no").addEventListener("click", () => ($("ask").hidden = true));
    $("ask-yes").addEventListener("click", confirmCancel);
    $("another").addEventListener("click", () => {
      show("page-note", "");
      go("choose");
    });
    $("open-cancel").addEventListener("click", () => {
      show("cancel-error", "");
      show("cancel-done", "");
      go("cancel");
    });
    $("cancel-back").addEventListener("click", () => go("choose"));
    $("cancel-form").addEventListener("submit", cancelByForm);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        $("confirm").hidden = true;
        $("ask").hidden = true;
      }
    });
  }

  async function start() {
    wire();
    try {
      const [texts, offer] = await Promise.all([
        fetch("/book/text.json").then((r) => r.json()),
        call("/services"),
      ]);
      state.texts = texts;
      state.offer = offer;
      state.day = offer.days[0] || null;
      const wanted = params.get("service"); // a link from the bank's site may name one
      if (wanted && serviceByCode(wanted)) state.service = wanted;
      go("choose");
      renderAll();
      if (state.service) await loadSlots();
      state.ready = true;
      document.body.dataset.ready = "true"; // tests wait on this with a CSS selector
    } catch (error) {
      applyTexts();
      $("loading").hidden = true;
      show("page-error", errorText(error));
    }
  }

  start();
})();
