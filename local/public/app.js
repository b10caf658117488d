// The demo page: chat rooms and a notification feed, through the client SDK only (the public protocol).
import { SwitchboardClient } from '/switchboard-client.js';

const $ = (id) => document.getElementById(id);
const MAX_ITEMS = 200;

$('user').value = `user-${Math.random().toString(36).slice(2, 7)}`;
updatePublishHint();
$('user').addEventListener('input', updatePublishHint);

/** @type {SwitchboardClient | undefined} */
let client;
const joined = new Set();

function updatePublishHint() {
  $('publish-hint').textContent =
    `npm run publish -- --user ${$('user').value || '…'} --event demo.hello --data '{"hi":1}'`;
}

// DEV ONLY: the local gateway signs tokens for any name; a real app gets them from its identity provider.
async function devToken() {
  const response = await fetch('/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: $('user').value.trim() }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message ?? `token request failed (${response.status})`);
  return body.token;
}

async function websocketUrl() {
  const { stage } = await (await fetch('/config.json')).json();
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/${stage}`;
}

function append(list, item) {
  list.append(item);
  while (list.children.length > MAX_ITEMS) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
}

function show(data) {
  return typeof data === 'string' ? data : JSON.stringify(data);
}

function showError(error) {
  const li = document.createElement('li');
  li.textContent = error?.code ? `${error.code}: ${error.message}` : String(error?.message ?? error);
  append($('errors'), li);
}

function renderJoined() {
  $('joined').textContent = joined.size ? `in ${[...joined].join(', ')}` : '';
}

$('connect-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  client?.close();
  joined.clear();
  renderJoined();
  client = new SwitchboardClient({ url: await websocketUrl(), token: devToken });
  window.switchboard = client;
  client.on('state', ({ state }) => {
    $('state').textContent = state;
  });
  client.on('message', (frame) => {
    const li = document.createElement('li');
    li.dataset.room = frame.room;
    li.dataset.from = frame.from;
    li.textContent = show(frame.data);
    append($('messages'), li);
  });
  client.on('notification', (frame) => {
    const li = document.createElement('li');
    li.dataset.event = frame.event;
    li.textContent = show(frame.data);
    append($('notifications'), li);
  });
  client.on('presence', (frame) => {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = `${frame.user} ${frame.state} ${frame.room}`;
    // Kept out of #messages, whose items are exactly the room messages.
    append($('presence'), li);
  });
  client.on('error', showError);
  try {
    await client.connect();
  } catch (error) {
    showError(error);
  }
});

$('disconnect').addEventListener('click', () => {
  client?.close();
  joined.clear();
  renderJoined();
});

$('join-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const room = $('room').value.trim();
  try {
    await client?.join(room);
    joined.add(room);
    renderJoined();
  } catch (error) {
    showError(error);
  }
});

$('leave').addEventListener('click', async () => {
  const room = $('room').value.trim();
  try {
    await client?.leave(room);
    joined.delete(room);
    renderJoined();
  } catch (error) {
    showError(error);
  }
});

$('send-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('message').value;
  if (!text || !client) return;
  try {
    await client.send($('room').value.trim(), text);
    $('message').value = '';
  } catch (error) {
    showError(error);
  }
});
