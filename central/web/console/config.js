// The console's configuration view (#config): the network template's businesses and settings,
// a region's or a branch's effective values with overridden cells marked and a reset to the
// inherited value, publishing with the count of branches that will get a new version, and
// per branch what is published against what it runs. Plain DOM, like console.js.
"use strict";

(function () {
  const hook = window.branchqConsole;
  const API = "/console/api/config";
  Object.assign(hook.text.zh, {
    tab_config: "配置模板", cfg_scope: "查看", cfg_network: "全网模板", cfg_region: "区域：", cfg_branch: "网点：",
    cfg_businesses: "业务目录", cfg_settings: "其他设置", cfg_status: "发布与生效",
    cfg_legend: "标色的格子是覆盖值：蓝色为区域覆盖，橙色为网点覆盖；点格子修改，点 ↺ 恢复继承值。",
    cfg_code: "代码", cfg_name_zh: "名称（中）", cfg_name_en: "名称（英）", cfg_target: "目标等候（分）",
    cfg_mean: "平均办理（分）", cfg_visible: "取号机显示", cfg_offered: "本处办理", cfg_setting: "设置项",
    cfg_value: "值", cfg_from: "来源", from_network: "模板", from_region: "区域", from_branch: "网点",
    cfg_publish: (n) => (n ? `发布（${n} 个网点将更新）` : "无需发布：全部已是最新"),
    cfg_template: (v, by) => `模板第 ${v} 版（${by}）`, cfg_no_template: "尚无模板",
    cfg_published: "已发布", cfg_deployed: "生效中", cfg_state: "状态",
    st_same: "已生效", st_pending: "待生效", st_refused: "被拒绝", st_never: "未发布", st_changed: "有改动待发布",
    cfg_saved: "已保存。", cfg_reset: "已恢复继承值。", cfg_published_n: (n) => `已发布到 ${n} 个网点。`,
    closed_day: "休息", yes: "是", no: "否", reset: "恢复继承值",
    day_mon: "周一营业", day_tue: "周二营业", day_wed: "周三营业", day_thu: "周四营业", day_fri: "周五营业",
    day_sat: "周六营业", day_sun: "周日营业", voice_pack: "语音包", location: "坐标（纬度，经度）",
    "appointments.slot_min": "预约时段（分）", "appointments.early_min": "提前签到（分）",
    "appointments.book_ahead_days": "可预约天数", "alerts.waiting_over": "等候人数告警",
    "alerts.wait_over_target_share": "超时占比告警", "kiosk_texts.zh.welcome": "取号机欢迎语（中）",
    "kiosk_texts.en.welcome": "取号机欢迎语（英）", "kiosk_texts.zh.footer": "取号机底部提示（中）",
    "kiosk_texts.en.footer": "取号机底部提示（英）",
    unknown_path: "该设置不在模板中。", bad_value: "值的类型不对。", outside_region: "不在您的区域。",
    head_office_only: "只有总行可以修改模板。", template_changed: "模板刚被他人修改，请刷新后再改。",
    orphaned_overrides: "有覆盖值依赖这一项，请先删除它们。", no_signing_key: "中心未配置签名密钥，无法发布。",
  });
  Object.assign(hook.text.en, {
    tab_config: "Configuration", cfg_scope: "Show", cfg_network: "Network template", cfg_region: "Region: ", cfg_branch: "Branch: ",
    cfg_businesses: "Businesses", cfg_settings: "Other settings", cfg_status: "Published and in force",
    cfg_legend: "Coloured cells are overrides: blue by the region, orange by the branch. Click a cell to change it, ↺ to inherit again.",
    cfg_code: "Code", cfg_name_zh: "Name (zh)", cfg_name_en: "Name (en)", cfg_target: "Target wait (min)",
    cfg_mean: "Mean service (min)", cfg_visible: "On kiosk", cfg_offered: "Offered", cfg_setting: "Setting",
    cfg_value: "Value", cfg_from: "From", from_network: "Template", from_region: "Region", from_branch: "Branch",
    cfg_publish: (n) => (n ? `Publish (${n} branches get a new version)` : "Nothing to publish"),
    cfg_template: (v, by) => `Template version ${v} (${by})`, cfg_no_template: "No template yet",
    cfg_published: "Published", cfg_deployed: "In force", cfg_state: "State",
    st_same: "In force", st_pending: "Pending", st_refused: "Refused", st_never: "Never sent", st_changed: "Changed, not published",
    cfg_saved: "Saved.", cfg_reset: "Inherited again.", cfg_published_n: (n) => `Published to ${n} branches.`,
    closed_day: "Closed", yes: "Yes", no: "No", reset: "Inherit again",
    day_mon: "Monday hours", day_tue: "Tuesday hours", day_wed: "Wednesday hours", day_thu: "Thursday hours",
    day_fri: "Friday hours", day_sat: "Saturday hours", day_sun: "Sunday hours", voice_pack: "Voice pack",
    location: "Location (lat, lon)", "appointments.slot_min": "Booking slot (min)",
    "appointments.early_min": "Early check-in (min)", "appointments.book_ahead_days": "Book ahead (days)",
    "alerts.waiting_over": "Alert: waiting over", "alerts.wait_over_target_share": "Alert: share over target",
    "kiosk_texts.zh.welcome": "Kiosk welcome (zh)", "kiosk_texts.en.welcome": "Kiosk welcome (en)",
    "kiosk_texts.zh.footer": "Kiosk footer line (zh)", "kiosk_texts.en.footer": "Kiosk footer line (en)",
    unknown_path: "The template has no such setting.", bad_value: "That value is of the wrong kind.",
    outside_region: "Not in your region.", head_office_only: "Only head office changes the template.",
    template_changed: "Someone changed the template just now: reload and try again.",
    orphaned_overrides: "Overrides depend on this: delete them first.", no_signing_key: "The centre has no signing key: cannot publish.",
  });
  const t = (key) => hook.t(key);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const $ = (id) => document.getElementById(id);
  const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const state = (hook.config = { scope: "", template: null, preview: null, plan: null, status: null, message: "" });

  async function send(method, path, body) {
    const r = await fetch(API + path, {
      method, credentials: "same-origin", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error?.code || `HTTP ${r.status}`);
    return data;
  }
  const get = (path) => send("GET", path);

  function scopeOf(value) {
    const [kind, id] = value.split(":");
    return { kind: kind || "network", id };
  }

  function fillScopes() {
    const v = hook.viewer;
    if (!v) return;
    const regions = hook.regions();
    const opts = v.role === "head_office" ? [`<option value="">${esc(t("cfg_network"))}</option>`] : [];
    for (const g of regions) {
      opts.push(`<option value="region:${esc(g.id)}">${esc(t("cfg_region") + g.name)}</option>`);
      for (const b of hook.rows.filter((r) => r.region_id === g.id).sort((a, b) => a.id.localeCompare(b.id))) {
        opts.push(`<option value="branch:${esc(b.id)}">\u3000${esc(t("cfg_branch") + b.name)}</option>`);
      }
    }
    const sel = $("cfg-scope");
    sel.innerHTML = opts.join("");
    if ([...sel.options].some((o) => o.value === state.scope)) sel.value = state.scope;
    else state.scope = sel.value;
  }

  async function load(scope) {
    if (scope) state.scope = scope;
    fillScopes();
    const { kind, id } = scopeOf(state.scope);
    const [template, preview, plan, status] = await Promise.all([
      get("/template"),
      kind === "network" ? Promise.resolve(null) : get(`/preview?${kind}=${encodeURIComponent(id)}`),
      get("/publish").catch(() => null),
      get("/status"),
    ]);
    Object.assign(state, { template, preview, plan, status, loaded: Date.now() });
    render();
  }

  // The value shown for a path, and which layer set it ("network" when nobody overrode it).
  function valueAt(catalogue, path) {
    let node = catalogue;
    for (const part of path.split(".")) {
      if (node == null) return undefined;
      node = Array.isArray(node) ? node.find((e) => e.code === part) : node[part];
    }
    return node;
  }
  function origin(path) {
    const over = state.preview?.overridden || {};
    let best = "network";
    for (const [p, layer] of Object.entries(over)) {
      if (path === p || path.startsWith(p + ".")) best = layer;
    }
    return best;
  }
  const catalogue = () => state.preview?.catalogue || state.template?.template?.catalogue || {};

  function show(path, value) {
    if (value === undefined || value === null) return "—";
    if (path.startsWith("opening_hours.")) return value.length ? `${value[0]}–${value[1]}` : t("closed_day");
    if (path === "location") return `${value.lat}, ${value.lon}`;
    if (typeof value === "boolean") return t(value ? "yes" : "no");
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function cell(path, value, extra = "") {
    const from = origin(path);
    const { kind } = scopeOf(state.scope);
    const mine = from === kind; // an override at the level shown: it can be reset here
    const badge = from === "network" ? "" : `<span class="ov-badge">${esc(t("from_" + from))}</span>`;
    const reset = mine ? `<button type="button" class="reset link" data-path="${esc(path)}" title="${esc(t("reset"))}">↺</button>` : "";
    return `<td class="editable ov-${from} ${extra}" data-path="${esc(path)}">${esc(show(path, value))}${badge}${reset}</td>`;
  }

  function render() {
    if (!state.template) return;
    document.querySelectorAll("#view-config [data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    const tpl = state.template.template;
    $("cfg-template").textContent = tpl ? t("cfg_template")(tpl.version, tpl.saved_by) : t("cfg_no_template");
    $("cfg-message").textContent = state.message;
    const cat = catalogue();
    const services = state.preview ? templateServices() : cat.services || [];
    const heads = ["cfg_code", "cfg_name_zh", "cfg_name_en", "cfg_target", "cfg_mean", "cfg_visible", "cfg_offered"];
    $("cfg-services").innerHTML = `<thead><tr>${heads.map((h, i) => `<th class="${i >= 3 && i <= 4 ? "num" : ""}">${esc(t(h))}</th>`).join("")}</tr></thead><tbody>`
      + services.map((s) => {
        const p = `services.${s.code}`;
        const here = valueAt(cat, p);
        const offered = here !== undefined;
        return `<tr class="${offered ? "" : "withdrawn"}"><td><b>${esc(s.code)}</b></td>`
          + cell(`${p}.names.zh`, valueAt(cat, `${p}.names.zh`) ?? s.names?.zh)
          + cell(`${p}.names.en`, valueAt(cat, `${p}.names.en`) ?? s.names?.en)
          + cell(`${p}.target_wait_min`, here ? here.target_wait_min : s.target_wait_min, "num")
          + cell(`${p}.mean_min`, here ? here.mean_min : s.mean_min, "num")
          + cell(`${p}.visible`, (here || s).visible !== false, "bool")
          + cell(`${p}.offered`, offered, "bool") + "</tr>";
      }).join("") + "</tbody>";
    const { kind } = scopeOf(state.scope);
    const paths = DAYS.map((d) => `opening_hours.${d}`).concat(
      ["appointments.slot_min", "appointments.early_min", "appointments.book_ahead_days"],
      Object.keys(cat.alerts || {}).map((k) => `alerts.${k}`),
      ["voice_pack", "kiosk_texts.zh.welcome", "kiosk_texts.en.welcome",
        "kiosk_texts.zh.footer", "kiosk_texts.en.footer"],
      kind === "branch" ? ["location"] : []);
    $("cfg-settings").innerHTML = `<thead><tr><th>${esc(t("cfg_setting"))}</th><th>${esc(t("cfg_value"))}</th></tr></thead><tbody>`
      + paths.map((p) => `<tr><td>${esc(t(p.startsWith("opening_hours.") ? "day_" + p.slice(14) : p))}</td>${cell(p, valueAt(cat, p))}</tr>`).join("")
      + "</tbody>";
    renderPublish();
    renderStatus();
  }

  // A withdrawn business is not in the effective catalogue: list the template's, all of them.
  function templateServices() {
    return state.template.template?.catalogue.services || [];
  }

  function changedHere() {
    const { kind, id } = scopeOf(state.scope);
    const changed = state.plan?.changed || [];
    const regionOf = (b) => hook.rows.find((r) => r.id === b)?.region_id;
    if (kind === "branch") return changed.filter((b) => b === id);
    return kind === "region" ? changed.filter((b) => regionOf(b) === id) : changed;
  }
  function renderPublish() {
    const n = changedHere().length;
    const btn = $("cfg-publish");
    hook.config.publishCount = n;
    btn.textContent = t("cfg_publish")(n);
    btn.disabled = n === 0;
    btn.dataset.count = n;
  }

  function renderStatus() {
    const rows = state.status?.branches || [];
    const changed = new Set(state.plan?.changed || []);
    const stateOf = (r) => (r.refused_version ? "refused" : r.published_version == null ? "never"
      : r.deployed_version === r.published_version ? "same" : "pending");
    $("cfg-status").innerHTML = `<thead><tr><th>${esc(t("col_name"))}</th><th class="num">${esc(t("cfg_published"))}</th>`
      + `<th class="num">${esc(t("cfg_deployed"))}</th><th>${esc(t("cfg_state"))}</th></tr></thead><tbody>`
      + rows.map((r) => {
        const st = stateOf(r);
        return `<tr data-branch="${esc(r.branch)}"><td>${esc(r.name)}</td>`
          + `<td class="num">${r.published_version == null ? "—" : "v" + r.published_version}</td>`
          + `<td class="num">${r.deployed_version == null ? "—" : "v" + r.deployed_version}</td>`
          + `<td><span class="st st-${st}" title="${esc(r.refused_reason || "")}">${esc(t("st_" + st))}</span>`
          + (changed.has(r.branch) && st !== "never" ? ` <span class="st st-changed">${esc(t("st_changed"))}</span>` : "") + `</td></tr>`;
      }).join("") + "</tbody>";
  }

  // ---------------------------------------------------------------- editing
  function parse(path, text, old) {
    text = text.trim();
    if (path.startsWith("opening_hours.")) {
      if (!text || text === t("closed_day") || /^(closed|休息)$/i.test(text)) return [];
      const m = text.match(/^(\d{2}:\d{2})\s*[-–~]\s*(\d{2}:\d{2})$/);
      return m ? [m[1], m[2]] : text;
    }
    if (path === "location") {
      const m = text.split(/[,，\s]+/).map(Number);
      return { lat: m[0], lon: m[1] };
    }
    if (typeof old === "number") return text === "" ? text : Number(text);
    return text;
  }

  async function save(path, value) {
    const { kind, id } = scopeOf(state.scope);
    try {
      if (kind === "network") await saveTemplate(path, value);
      else await send("PUT", `/overrides/${kind}/${encodeURIComponent(id)}`, { path, value });
      state.message = t("cfg_saved");
    } catch (e) {
      state.message = t(e.message);
    }
    await load();
  }

  async function saveTemplate(path, value) {
    const tpl = state.template.template;
    const cat = structuredClone(tpl.catalogue);
    const parts = path.split(".");
    let node = cat;
    for (const part of parts.slice(0, -1)) {
      node = Array.isArray(node) ? node.find((e) => e.code === part) : (node[part] ??= {});
    }
    node[parts.at(-1)] = value;
    await send("PUT", "/template", { catalogue: cat, based_on: tpl.version, note: `${path} = ${JSON.stringify(value)}` });
  }

  $("cfg-services").addEventListener("click", onCell);
  $("cfg-settings").addEventListener("click", onCell);
  function onCell(ev) {
    const reset = ev.target.closest("button.reset");
    if (reset) {
      const { kind, id } = scopeOf(state.scope);
      send("DELETE", `/overrides/${kind}/${encodeURIComponent(id)}?path=${encodeURIComponent(reset.dataset.path)}`)
        .then(() => { state.message = t("cfg_reset"); }, (e) => { state.message = t(e.message); })
        .then(load);
      return;
    }
    const td = ev.target.closest("td.editable");
    if (!td || td.querySelector("input")) return;
    const path = td.dataset.path;
    const old = valueAt(catalogue(), path);
    if (td.classList.contains("bool")) {
      // A choice, never a one-click toggle: one stray click must not withdraw a business.
      const now = path.endsWith(".offered") ? old !== undefined : old !== false;
      const select = document.createElement("select");
      select.className = "cell-input";
      select.innerHTML = `<option value="1">${esc(t("yes"))}</option><option value="0">${esc(t("no"))}</option>`;
      select.value = now ? "1" : "0";
      td.textContent = "";
      td.appendChild(select);
      select.focus();
      select.addEventListener("change", () => save(path, select.value === "1"));
      select.addEventListener("blur", () => render());
      return;
    }
    const input = document.createElement("input");
    input.value = old == null ? "" : show(path, old);
    input.className = "cell-input";
    td.textContent = "";
    td.appendChild(input);
    input.focus();
    input.select();
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") save(path, parse(path, input.value, old));
      if (e.key === "Escape") render();
    });
    input.addEventListener("blur", () => render());
  }

  $("cfg-scope").addEventListener("change", () => {
    state.scope = $("cfg-scope").value;
    state.message = "";
    load().catch(() => {});
  });

  $("cfg-publish").addEventListener("click", async () => {
    const { kind, id } = scopeOf(state.scope);
    const body = kind === "region" ? { region: id } : kind === "branch" ? { branches: [id] } : {};
    try {
      const r = await send("POST", "/publish", body);
      state.message = t("cfg_published_n")(r.published.length);
      hook.lastPublished = r;
    } catch (e) {
      state.message = t(e.message);
    }
    await load();
  });

  hook.views.config = { load, render };
  document.querySelectorAll('[data-t="tab_config"]').forEach((el) => { el.textContent = t("tab_config"); });
})();
