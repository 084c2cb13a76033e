// Shared by the Mini App pages: Telegram's launch data, the language, and API calls that carry
// the launch data (`Authorization: tma <initData>`); the server checks it on every request.
"use strict";

const tg = window.Telegram && window.Telegram.WebApp;
const initData = (tg && tg.initData) || "";
const tgUser = (tg && tg.initDataUnsafe && tg.initDataUnsafe.user) || null;
const lang = ((tgUser && tgUser.language_code) || navigator.language || "ru").toLowerCase().startsWith("en") ? "en" : "ru";
document.documentElement.lang = lang;

/** The text for `key` in the user's language ({name} placeholders filled from `vars`). */
function t(texts, key, vars) {
  const entry = texts[key] || {};
  let s = entry[lang] || entry.ru || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(String(v));
  return s;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || ("HTTP " + status));
    this.status = status;
    this.code = body && body.error;
    this.field = body && body.field;
  }
}

/** Calls the API next to these pages (`../api/...` from `/miniapp/`, or SIFTGRAM_API_BASE). */
async function api(path, options) {
  const opts = options || {};
  const headers = { Authorization: "tma " + initData };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const base = window.SIFTGRAM_API_BASE || new URL("../", location.href).href.replace(/\/$/, "");
  const response = await fetch(base + path, {
    method: opts.method || "GET",
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") node.addEventListener("click", v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function formatTime(unixSecs) {
  if (unixSecs === null || unixSecs === undefined) return "—";
  return new Date(unixSecs * 1000).toLocaleString(lang === "en" ? "en-GB" : "ru-RU", { dateStyle: "medium", timeStyle: "short" });
}

if (tg) {
  tg.ready();
  tg.expand();
}
