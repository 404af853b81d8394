import { MaskqApiError, MaskqClient, type JobResource } from '@maskq/client/core';
import { drawDetections } from './draw.js';
import './style.css';

const keyStorage = 'maskq.apiKey';
const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

const keyInput = $<HTMLInputElement>('#api-key');
const keyState = $('#key-state');
const fileInput = $<HTMLInputElement>('#files');
const drop = $('#drop');
const jobsList = $('#jobs');
const annotate = $<HTMLInputElement>('#annotate');

keyInput.value = localStorage.getItem(keyStorage) ?? '';
const showKeyState = () => (keyState.textContent = keyInput.value ? 'key saved in this browser' : 'no key');
showKeyState();
$('#key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (keyInput.value) localStorage.setItem(keyStorage, keyInput.value.trim());
  else localStorage.removeItem(keyStorage);
  showKeyState();
});

/** The page talks to the API it came from; the key (if any) goes in `Authorization: Bearer`. */
const client = () => {
  const apiKey = localStorage.getItem(keyStorage) ?? undefined;
  return new MaskqClient({ baseUrl: location.origin, ...(apiKey ? { apiKey } : {}) });
};

interface Entry {
  file: File;
  card: HTMLElement;
  job?: JobResource;
}
const entries: Entry[] = [];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const steps = ['queued', 'processing', 'done'] as const;
const stepOf = (status: string): number => (status === 'queued' ? 0 : status === 'processing' ? 1 : 2);

function updateTotals(): void {
  const done = entries.filter((e) => e.job?.status === 'completed');
  const sum = (key: 'faces' | 'masked' | 'unmasked') => done.reduce((n, e) => n + (e.job?.result?.summary[key] ?? 0), 0);
  const set = (name: string, value: number) => ($(`[data-total="${name}"]`).textContent = String(value));
  set('images', entries.length);
  set('done', done.length);
  set('faces', sum('faces'));
  set('masked', sum('masked'));
  set('unmasked', sum('unmasked'));
}

function newCard(file: File): HTMLElement {
  const card = el('li', { class: 'job', 'data-testid': 'job', 'data-status': 'uploading', 'data-file': file.name });
  card.append(el('h2', {}, file.name));
  const stepList = el('ol', { class: 'steps' });
  for (const step of steps) stepList.append(el('li', { 'data-step': step }, step));
  card.append(stepList, el('p', { class: 'state muted' }, 'uploading…'));
  jobsList.append(card);
  return card;
}

function showStatus(entry: Entry, job: Pick<JobResource, 'id' | 'status'>): void {
  const { card } = entry;
  card.dataset.status = job.status;
  card.dataset.jobId = job.id;
  const reached = stepOf(job.status);
  card.querySelectorAll<HTMLElement>('.steps li').forEach((li, i) => li.classList.toggle('reached', i <= reached));
  const last = card.querySelector<HTMLElement>('.steps li:last-child')!;
  last.textContent = job.status === 'completed' || stepOf(job.status) < 2 ? 'done' : job.status;
  card.querySelector('.state')!.textContent = `job ${job.id}: ${job.status === 'completed' ? 'done' : job.status}`;
}

function showError(entry: Entry, message: string): void {
  entry.card.dataset.status = entry.card.dataset.status === 'uploading' ? 'rejected' : entry.card.dataset.status ?? 'failed';
  entry.card.append(el('p', { class: 'error' }, message));
}

async function showResult(entry: Entry, job: JobResource): Promise<void> {
  const { card } = entry;
  const result = job.result;
  if (!result) return;
  const counts = el('div', { class: 'counts' });
  for (const key of ['faces', 'masked', 'unmasked'] as const) {
    const item = el('span', {}, `${key} `);
    item.append(el('b', { 'data-count': key }, String(result.summary[key])));
    counts.append(item);
  }
  const visual = el('div', { class: 'visual' });
  const faces = el('ol', { class: 'faces' });
  for (const d of result.detections) {
    faces.append(el('li', { class: d.label }, `${d.label === 'mask' ? 'mask' : 'no mask'} ${(d.score * 100).toFixed(1)}% at [${d.box.map((v) => Math.round(v)).join(', ')}]`));
  }
  if (job.timings?.total_ms !== undefined) counts.append(el('span', { class: 'muted' }, `${job.timings.total_ms} ms`));
  card.append(counts, visual, faces);

  // The server's annotated JPEG when there is one; else boxes drawn here on the original.
  let annotated: Blob | undefined;
  try {
    annotated = await client().annotatedImage(job.id);
  } catch {
    annotated = undefined;
  }
  if (annotated) {
    const img = el('img', { alt: `${entry.file.name} annotated`, 'data-visual': 'annotated' });
    img.src = URL.createObjectURL(annotated);
    visual.append(img);
  } else {
    const canvas = el('canvas', { 'data-visual': 'canvas', 'aria-label': `${entry.file.name} with boxes` });
    visual.append(canvas);
    await drawDetections(canvas, entry.file, result).catch(() => canvas.remove());
  }
  card.dataset.rendered = 'true';
}

async function track(entry: Entry): Promise<void> {
  const api = client();
  try {
    const accepted = await api.submit(entry.file, { filename: entry.file.name, ...(annotate.checked ? { annotate: true } : {}) });
    showStatus(entry, accepted);
    const job = await api.wait(accepted.id, {
      onUpdate: (update) => {
        entry.job = update;
        showStatus(entry, update);
        updateTotals();
      },
    });
    entry.job = job;
    showStatus(entry, job);
    updateTotals();
    if (job.status === 'completed') await showResult(entry, job);
    else showError(entry, job.error ? `${job.error.code}: ${job.error.message}` : job.status);
  } catch (err) {
    const message = err instanceof MaskqApiError ? `${err.code}: ${err.message}` : (err as Error).message;
    showError(entry, err instanceof MaskqApiError && err.status === 401 ? `${message} (set the API key above)` : message);
  }
}

function addFiles(files: Iterable<File>): void {
  for (const file of files) {
    const entry: Entry = { file, card: newCard(file) };
    entries.push(entry);
    void track(entry);
  }
  updateTotals();
}

fileInput.addEventListener('change', () => {
  if (fileInput.files) addFiles([...fileInput.files]);
  fileInput.value = '';
});
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  const files = [...(event.dataTransfer?.files ?? [])].filter((f) => f.type.startsWith('image/') || f.type === '');
  addFiles(files);
});
