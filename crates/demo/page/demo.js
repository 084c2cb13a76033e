// The demo chat: a stand-in for Telegram's app. It shows the chat with the bot as the fake Bot
// API holds it, sends what the user types as a Telegram update, presses inline buttons, and
// opens Mini App buttons in a side panel with launch data signed like Telegram's.
'use strict';

const KEY = new URLSearchParams(location.search).get('key') || '';
const TEXTS = {
  ru: {
    bot: 'бот', typing: 'печатает…', placeholder: 'Сообщение', scan: '📱 Отсканировать телефоном',
    edited: 'изменено', hint: (invite) => `Это демо: бот, ваш Telegram и каналы — записанные, всё остальное настоящее. Начните с <code>/start</code>, затем <code>/login ${invite}</code>.`,
    scanned: (p) => `Телефон отсканировал код. У аккаунта включена двухэтапная проверка — пароль: <code>${p}</code>`,
    noKey: 'Откройте демо по ссылке, которую напечатал `siftgram demo`.', post: 'Пост', offline: 'Нет связи с узлом, повторяю…',
  },
  en: {
    bot: 'bot', typing: 'typing…', placeholder: 'Message', scan: '📱 Scan with your phone',
    edited: 'edited', hint: (invite) => `This is the demo: the bot's Telegram, your Telegram and the channels are recorded; everything else is real. Start with <code>/start</code>, then <code>/login ${invite}</code>.`,
    scanned: (p) => `Your phone scanned the code. The account has two-step verification — its password is <code>${p}</code>`,
    noKey: 'Open the demo from the link `siftgram demo` printed.', post: 'Post', offline: 'The node does not answer; retrying…',
  },
};
let lang = localStorage.getItem('siftgram-demo-lang') || (navigator.language || 'ru').slice(0, 2);
if (!TEXTS[lang]) lang = 'ru';
const t = () => TEXTS[lang];
const $ = (id) => document.getElementById(id);
const shown = new Map(); // message id → the JSON it was drawn from
let info = { channels: [], password: '', invite: '' };

async function api(path, body) {
  const init = { headers: { 'X-Demo-Key': KEY } };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.message || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

// Telegram's HTML subset, rebuilt element by element: nothing else from a message reaches the page.
const ALLOWED = new Set(['B', 'STRONG', 'I', 'EM', 'U', 'INS', 'S', 'STRIKE', 'DEL', 'A', 'CODE', 'PRE', 'TG-SPOILER', 'SPAN', 'BLOCKQUOTE']);
function rebuild(node) {
  const out = document.createDocumentFragment();
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      out.append(child.textContent);
    } else if (child.nodeType === Node.ELEMENT_NODE && ALLOWED.has(child.tagName)) {
      const spoiler = child.tagName === 'TG-SPOILER' || (child.tagName === 'SPAN' && child.classList.contains('tg-spoiler'));
      const el = document.createElement(spoiler ? 'span' : child.tagName.toLowerCase());
      if (spoiler) el.className = 'spoiler';
      if (child.tagName === 'A') {
        const href = child.getAttribute('href') || '';
        if (/^(https?:|tg:)/i.test(href)) {
          el.href = href;
          el.target = '_blank';
          el.rel = 'noopener noreferrer';
        }
      }
      el.append(rebuild(child));
      out.append(el);
    } else if (child.nodeType === Node.ELEMENT_NODE) {
      out.append(rebuild(child));
    }
  }
  return out;
}
function formatted(html) {
  return rebuild(new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html').body);
}

function time(unix) {
  return new Date(unix * 1000).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
}

// A t.me link to a sample channel's post: [channel, id].
function citedPost(href) {
  const m = /^https:\/\/t\.me\/([A-Za-z0-9_]{4,32})\/(\d+)$/.exec(href || '');
  return m && info.channels.some((c) => c.username === m[1]) ? [m[1], Number(m[2])] : null;
}

function keyboard(message) {
  const kb = document.createElement('div');
  kb.className = 'kb';
  kb.dataset.for = message.id;
  for (const row of message.keyboard || []) {
    const line = document.createElement('div');
    line.className = 'row';
    for (const button of row) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = button.text;
      if (button.callback_data !== undefined) {
        b.dataset.callback = button.callback_data;
        b.onclick = () => press(message.id, button.callback_data, b);
      } else if (button.web_app) {
        b.dataset.webApp = button.web_app.url;
        b.insertAdjacentHTML('beforeend', '<span class="kind">⧉</span>');
        b.onclick = () => openMiniApp(button.web_app.url, button.text);
      } else if (button.url) {
        b.dataset.url = button.url;
        b.insertAdjacentHTML('beforeend', '<span class="kind">↗</span>');
        b.onclick = () => openLink(button.url);
      }
      line.append(b);
    }
    kb.append(line);
  }
  return kb;
}

function draw(message) {
  const bubble = document.createElement('div');
  bubble.className = `msg ${message.from_bot ? 'in' : 'out'}`;
  bubble.dataset.id = message.id;
  const body = document.createElement('div');
  body.className = 'body';
  body.append(message.html ? formatted(message.html) : message.text);
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent = (message.edited ? `${t().edited} ` : '') + time(message.date);
  bubble.append(body, meta);
  const parts = [bubble];
  if (message.keyboard && message.keyboard.length) parts.push(keyboard(message));
  return parts;
}

function render(chat) {
  const list = $('messages');
  const ids = new Set(chat.messages.map((m) => m.id));
  for (const [id] of shown) {
    if (!ids.has(id)) {
      list.querySelectorAll(`[data-id="${id}"], [data-for="${id}"]`).forEach((el) => el.remove());
      shown.delete(id);
    }
  }
  let appended = false;
  for (const message of chat.messages) {
    const json = JSON.stringify(message);
    if (shown.get(message.id) === json) continue;
    const parts = draw(message);
    const old = list.querySelector(`.msg[data-id="${message.id}"]`);
    if (old) {
      // An edit: the same bubble, new content, in place.
      list.querySelectorAll(`[data-for="${message.id}"]`).forEach((el) => el.remove());
      old.replaceWith(...parts);
    } else {
      list.append(...parts);
      appended = true;
    }
    shown.set(message.id, json);
  }
  const status = $('status');
  status.textContent = chat.typing ? t().typing : t().bot;
  status.classList.toggle('typing', chat.typing);
  if (appended) list.scrollTop = list.scrollHeight;
}

async function follow() {
  let version = null;
  for (;;) {
    try {
      const chat = await api(version === null ? '/demo/api/chat' : `/demo/api/chat?after=${version}`);
      $('fatal').hidden = true;
      render(chat);
      version = chat.version;
    } catch (e) {
      if (e.status === 401) return fatal(t().noKey);
      $('fatal').textContent = t().offline;
      $('fatal').hidden = false;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function fatal(text) {
  $('fatal').textContent = text;
  $('fatal').hidden = false;
  $('composer').hidden = true;
}

async function send(text) {
  if (!text.trim()) return;
  await api('/demo/api/say', { text, lang });
}

async function press(messageId, data, button) {
  button.disabled = true;
  try {
    await api('/demo/api/press', { message_id: messageId, data, lang });
  } finally {
    button.disabled = false;
  }
}

function openPanel(title) {
  $('panel').hidden = false;
  $('panel-title').textContent = title;
  $('miniapp').hidden = true;
  $('post').hidden = true;
  $('panel-tools').hidden = true;
  $('scan-note').hidden = true;
}

function closePanel() {
  $('panel').hidden = true;
  $('miniapp').removeAttribute('src');
}

async function openMiniApp(url, title) {
  const launch = await api('/demo/api/launch', { url, lang });
  openPanel(title);
  // Reloaded from blank so that a page opened again gets fresh launch data.
  $('miniapp').src = 'about:blank';
  $('miniapp').hidden = false;
  setTimeout(() => { $('miniapp').src = launch.url; }, 0);
  $('panel-tools').hidden = !/\/login\.html$/.test(url);
}

async function openPost(channel, id) {
  const post = await api(`/demo/api/post?channel=${encodeURIComponent(channel)}&id=${id}`);
  openPanel(`@${post.channel}`);
  const article = $('post');
  article.replaceChildren();
  const head = document.createElement('div');
  head.className = 'post-head';
  head.textContent = `${post.title} · ${t().post} ${post.id} · ${new Date(post.date * 1000).toLocaleString(lang)}`;
  article.append(head, post.text);
  article.dataset.channel = post.channel;
  article.dataset.id = post.id;
  article.hidden = false;
}

function openLink(url) {
  const cited = citedPost(url);
  if (cited) return openPost(...cited);
  window.open(url, '_blank', 'noopener');
}

async function scan() {
  try {
    const scanned = await api('/demo/api/scan', {});
    $('scan-note').innerHTML = t().scanned(scanned.password);
  } catch (e) {
    $('scan-note').textContent = e.message;
  }
  $('scan-note').hidden = false;
}

function setLanguage(next) {
  lang = next;
  localStorage.setItem('siftgram-demo-lang', lang);
  document.documentElement.lang = lang;
  document.querySelectorAll('#lang button').forEach((b) => b.classList.toggle('on', b.dataset.lang === lang));
  document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t()[el.dataset.i18n]; });
  $('input').placeholder = t().placeholder;
  hints();
}

function hints() {
  $('hint-text').innerHTML = t().hint(info.invite || 'КОД');
  const chips = ['/start', `/login ${info.invite}`, ...info.channels.map((c) => `/add_channel @${c.username}`),
    lang === 'en' ? '/ask what happened to the tram routes?' : '/ask что с трамваями?', '/my_channels', '/digest'];
  $('chips').replaceChildren(...chips.map((text) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.onclick = () => { $('input').value = text; $('input').focus(); };
    return b;
  }));
}

document.addEventListener('DOMContentLoaded', async () => {
  $('composer').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('input').value;
    $('input').value = '';
    try { await send(text); } catch (err) { $('input').value = text; alert(err.message); }
  });
  $('panel-close').onclick = closePanel;
  $('scan').onclick = scan;
  document.querySelectorAll('#lang button').forEach((b) => { b.onclick = () => setLanguage(b.dataset.lang); });
  $('messages').addEventListener('click', (e) => {
    const spoiler = e.target.closest('.spoiler');
    if (spoiler) spoiler.classList.add('shown');
    const link = e.target.closest('a[href]');
    const cited = link && citedPost(link.getAttribute('href'));
    if (cited) {
      e.preventDefault();
      openPost(...cited);
    }
  });
  // The Mini App asks Telegram to close it (telegram-web-app.js posts to its parent in a frame).
  window.addEventListener('message', (e) => {
    if (e.source !== $('miniapp').contentWindow) return;
    try {
      if (JSON.parse(e.data).eventType === 'web_app_close') closePanel();
    } catch (_) { /* not a Mini App event */ }
  });
  try {
    const about = await api('/demo/api/about');
    info = { ...info, ...about };
  } catch (e) {
    if (e.status === 401) return fatal(t().noKey);
  }
  setLanguage(lang);
  follow();
});
