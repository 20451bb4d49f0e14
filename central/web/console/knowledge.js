// The knowledge base editor: reads and writes /console/api/knowledge with the console's
// session cookie. Every text from the server is set as text (textContent, .value), never
// as HTML: a page's fields are plain text by contract.
"use strict";

(function () {
  const API = "/console/api/knowledge";
  const LISTS = ["documents", "steps", "limits", "mistakes"];
  const TEXT = {
    zh: {
      title: "业务知识库", back: "‹ 返回监控台", lang: "English", pages: "业务页", new_page: "＋ 新建业务页",
      service: "业务代码", related: "关联业务代码（用逗号分隔）", title_zh: "名称（中文）", title_en: "名称（英文）",
      documents: "需核验的证件（每行一项）", steps: "办理步骤（每行一步）", limits: "限额与条件（每行一项）",
      mistakes: "常见错误（每行一项）", body: "说明",
      markup: "说明的写法：空一行分段；以“- ”开头为列表项，以“1. ”开头为编号项。不支持 HTML。",
      save: "保存", remove: "删除此页", unpublished: "待发布的变更", publish: "发布到全部网点",
      history: "已发布版本", nothing: "没有待发布的变更。", read_only: "区域经理只读，编辑与发布由总行进行。",
      latest: (v, at, by) => `当前版本：第 ${v} 版（${at}，${by}）`, never: "尚未发布过。",
      published: (v, n) => `已发布第 ${v} 版，发往 ${n} 个网点。`, saved: "已保存。",
      confirm_remove: "删除这一业务页？发布后各网点也将删除。", failed: "失败：",
      signed_out: "请先在监控台登录。", version: (v, at) => `第 ${v} 版 · ${at}`, loading: "加载中…",
    },
    en: {
      title: "Knowledge base", back: "‹ Console", lang: "中文", pages: "Pages", new_page: "+ New page",
      service: "Business code", related: "Related business codes (comma-separated)",
      title_zh: "Title (Chinese)", title_en: "Title (English)",
      documents: "Documents to check (one a line)", steps: "Steps (one a line)",
      limits: "Limits (one a line)", mistakes: "Common mistakes (one a line)", body: "Notes",
      markup: "Notes: a blank line starts a paragraph; “- ” starts a list item, “1. ” a numbered one. No HTML.",
      save: "Save", remove: "Delete page", unpublished: "Not yet published", publish: "Publish to every branch",
      history: "Published versions", nothing: "Nothing to publish.", read_only: "Read only: head office edits and publishes.",
      latest: (v, at, by) => `In force: version ${v} (${at}, ${by})`, never: "Never published.",
      published: (v, n) => `Published version ${v} to ${n} branches.`, saved: "Saved.",
      confirm_remove: "Delete this page? Branches lose it on the next publication.", failed: "Failed: ",
      signed_out: "Sign in at the console first.", version: (v, at) => `Version ${v} · ${at}`, loading: "Loading…",
    },
  };
  let lang = localStorage.getItem("branchq.console.lang") === "en" ? "en" : "zh";
  let state = null;
  let current = null; // the service code being edited, or null for a new page
  const $ = (id) => document.getElementById(id);
  const t = (key, ...args) => { const v = TEXT[lang][key]; return typeof v === "function" ? v(...args) : v; };
  const when = (iso) => new Date(iso).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });

  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    $("lang").textContent = t("lang");
    document.title = t("title") + " · BranchQ";
    if (state) render();
  }

  async function call(method, path, body) {
    const response = await fetch(API + path, {
      method, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) { window.location.href = "/console"; throw new Error(t("signed_out")); }
    if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
    return data;
  }

  function item(parent, text) {
    const li = document.createElement("li");
    li.textContent = text;
    parent.appendChild(li);
    return li;
  }

  function render() {
    const list = $("pages");
    list.replaceChildren();
    for (const page of state.pages) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `${page.service}  ${lang === "en" && page.title.en ? page.title.en : page.title.zh}`;
      button.className = page.service === current ? "current" : "";
      button.addEventListener("click", () => edit(page.service));
      li.appendChild(button);
      list.appendChild(li);
    }
    const changes = $("unpublished");
    changes.replaceChildren();
    for (const change of state.unpublished) item(changes, change[lang] || change.zh);
    if (!state.unpublished.length) item(changes, t("nothing"));
    const latest = state.latest;
    $("latest").textContent = latest ? t("latest", latest.version, when(latest.published_at), latest.published_by) : t("never");
    $("publish").disabled = !state.may_edit || !state.unpublished.length;
    for (const el of document.querySelectorAll("#editor input, #editor textarea, #editor button, #new-page")) {
      el.disabled = !state.may_edit;
    }
    $("status").textContent = state.may_edit ? "" : t("read_only");
  }

  function fill(page) {
    current = page ? page.service : null;
    $("f-service").value = page ? page.service : "";
    $("f-service").readOnly = Boolean(page);
    $("f-title-zh").value = page ? page.title.zh : "";
    $("f-title-en").value = page ? page.title.en : "";
    $("f-related").value = page ? page.related.join(", ") : "";
    for (const name of LISTS) $("f-" + name).value = page ? page[name].join("\n") : "";
    $("f-body").value = page ? page.body : "";
    $("form-error").textContent = "";
    $("remove").hidden = !page;
  }

  function edit(service) {
    fill(state.pages.find((p) => p.service === service) || null);
    render();
  }

  function lines(id) { return $(id).value.split("\n").map((s) => s.trim()).filter(Boolean); }

  async function load() {
    state = await call("GET", "");
    const history = await call("GET", "/versions");
    const list = $("history");
    list.replaceChildren();
    for (const v of history.versions) {
      const li = item(list, t("version", v.version, when(v.published_at)));
      const inner = document.createElement("ul");
      for (const change of v.changes) item(inner, change[lang] || change.zh);
      li.appendChild(inner);
    }
    $("kb").hidden = false;
    if (current === null && state.pages.length) fill(state.pages[0]);
    render();
  }

  $("editor").addEventListener("submit", async (event) => {
    event.preventDefault();
    const service = $("f-service").value.trim();
    const page = {
      service,
      title: { zh: $("f-title-zh").value, en: $("f-title-en").value },
      related: $("f-related").value.split(/[,，\s]+/).filter(Boolean),
      body: $("f-body").value,
    };
    for (const name of LISTS) page[name] = lines("f-" + name);
    try {
      await call("PUT", "/pages/" + encodeURIComponent(service), page);
      current = service;
      await load();
      $("form-error").textContent = t("saved");
    } catch (error) {
      $("form-error").textContent = t("failed") + error.message;
    }
  });
  $("remove").addEventListener("click", async () => {
    if (!current || !window.confirm(t("confirm_remove"))) return;
    try {
      await call("DELETE", "/pages/" + encodeURIComponent(current));
      current = null;
      fill(null);
      await load();
    } catch (error) { $("form-error").textContent = t("failed") + error.message; }
  });
  $("new-page").addEventListener("click", () => { fill(null); render(); });
  $("publish").addEventListener("click", async () => {
    $("publish").disabled = true;
    try {
      const result = await call("POST", "/publish");
      await load();
      $("publish-result").textContent = t("published", result.version, result.branches);
    } catch (error) {
      $("publish-result").textContent = t("failed") + error.message;
      render();
    }
  });
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("branchq.console.lang", lang);
    applyLanguage();
  });

  applyLanguage();
  $("status").textContent = t("loading");
  load().catch((error) => { $("status").textContent = t("failed") + error.message; });
})();
