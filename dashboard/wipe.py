"""The before/after wipe of the generator pages: one picture, the result drawn over the original
and cut at a handle the user drags on the image itself (as in the image-to-image demos of
Hugging Face Spaces / Gradio's ImageSlider).

A Streamlit components-v2 element with inline HTML, CSS and JavaScript: both pictures travel once
as PNG data URIs, every move of the handle happens in the browser with no server round trip, and
nothing is loaded from a CDN, so it works offline. The handle is a keyboard slider too (arrow keys,
Home/End) with its position in ``aria-valuenow``.
"""

from __future__ import annotations

import base64

import numpy as np
import streamlit as st

from core.models.outputs import png_bytes

_CSS = """
.wipe { position: relative; width: 100%; user-select: none; touch-action: none; cursor: ew-resize;
  line-height: 0; }
.wipe img { width: 100%; height: auto; display: block; pointer-events: none; }
.wipe img.after { position: absolute; inset: 0; }
.wipe .bar { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px;
  background: #fff; box-shadow: 0 0 0 1px rgba(0,0,0,.35); pointer-events: none; }
.wipe .knob { position: absolute; top: 50%; width: 30px; height: 30px; margin: -15px 0 0 -15px;
  border-radius: 50%; background: #fff; border: 2px solid var(--st-primary-color, #5B4FCF);
  box-shadow: 0 1px 4px rgba(0,0,0,.4); display: flex; align-items: center; justify-content: center;
  font: 14px/1 sans-serif; color: var(--st-primary-color, #5B4FCF); line-height: 1; }
.wipe .knob:focus-visible { outline: 3px solid var(--st-primary-color, #5B4FCF); outline-offset: 2px; }
.wipe .tag { position: absolute; top: 6px; padding: 2px 7px; border-radius: 4px; font: 12px/1.5 sans-serif;
  background: rgba(0,0,0,.55); color: #fff; pointer-events: none; }
.wipe .tag.left { left: 6px; } .wipe .tag.right { right: 6px; }
.wipe-holder { width: 100%; }
.caption { font: 13px/1.6 sans-serif; color: var(--st-text-color, #555); opacity: .75; margin-top: 4px; }
"""

_JS = """
export default function (component) {
  const { data, parentElement } = component;
  const old = parentElement.querySelector('.wipe-holder');
  if (old) old.remove();
  const holder = document.createElement('div');
  holder.className = 'wipe-holder';
  parentElement.appendChild(holder);

  const wipe = document.createElement('div');
  wipe.className = 'wipe';
  wipe.style.maxWidth = data.width + 'px';
  wipe.setAttribute('data-testid', 'wipe');
  const before = document.createElement('img');
  before.className = 'before'; before.src = data.before; before.alt = data.before_label;
  const after = document.createElement('img');
  after.className = 'after'; after.src = data.after; after.alt = data.after_label;
  const bar = document.createElement('div'); bar.className = 'bar';
  const knob = document.createElement('div');
  knob.className = 'knob'; knob.textContent = '\\u2194'; knob.tabIndex = 0;
  knob.setAttribute('role', 'slider');
  knob.setAttribute('aria-label', 'Wipe position: ' + data.before_label + ' on the left, ' +
                    data.after_label + ' on the right');
  knob.setAttribute('aria-valuemin', '0'); knob.setAttribute('aria-valuemax', '100');
  const left = document.createElement('span'); left.className = 'tag left'; left.textContent = data.before_label;
  const right = document.createElement('span'); right.className = 'tag right'; right.textContent = data.after_label;
  wipe.append(before, after, bar, knob, left, right);
  const caption = document.createElement('div');
  caption.className = 'caption'; caption.textContent = data.caption;
  holder.append(wipe, caption);

  // the original shows left of the handle, the result right of it
  const place = (fraction) => {
    const p = Math.min(1, Math.max(0, fraction)) * 100;
    after.style.clipPath = 'inset(0 0 0 ' + p + '%)';
    bar.style.left = p + '%';
    knob.style.left = p + '%';
    knob.setAttribute('aria-valuenow', String(Math.round(p)));
    wipe.dataset.position = String(p);
  };
  place(data.position);

  const fromPointer = (event) => {
    const box = wipe.getBoundingClientRect();
    if (box.width > 0) place((event.clientX - box.left) / box.width);
  };
  let dragging = false;
  wipe.addEventListener('pointerdown', (event) => {
    dragging = true;
    wipe.setPointerCapture(event.pointerId);
    fromPointer(event);
    knob.focus({ preventScroll: true });
  });
  wipe.addEventListener('pointermove', (event) => { if (dragging) fromPointer(event); });
  const stop = (event) => {
    dragging = false;
    if (wipe.hasPointerCapture(event.pointerId)) wipe.releasePointerCapture(event.pointerId);
  };
  wipe.addEventListener('pointerup', stop);
  wipe.addEventListener('pointercancel', stop);
  knob.addEventListener('keydown', (event) => {
    const now = Number(wipe.dataset.position) / 100;
    const step = event.shiftKey ? 0.1 : 0.02;
    const moves = { ArrowLeft: now - step, ArrowRight: now + step, Home: 0, End: 1 };
    if (event.key in moves) { place(moves[event.key]); event.preventDefault(); }
  });
  return () => holder.remove();
}
"""

#: Small pictures (a 64 px demo result) are enlarged up to this width, never beyond 8x.
DISPLAY_MIN_PX = 512

_wipe = st.components.v2.component("ganlens.wipe", css=_CSS, js=_JS)


def _data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def wipe_view(
    before: np.ndarray,
    after: np.ndarray,
    *,
    before_label: str,
    after_label: str,
    caption: str,
    key: str,
    position: float = 0.5,
) -> None:
    """Show ``after`` over ``before`` (both ``H x W x 3`` uint8, the same size) with a draggable
    divider: ``before`` left of it, ``after`` right of it, starting at ``position`` (0..1)."""
    if before.shape != after.shape:
        raise ValueError(f"the wipe needs two pictures of one size, got {before.shape} and {after.shape}")
    w = before.shape[1]
    _wipe(
        key=key,
        data={
            "before": _data_uri(before),
            "after": _data_uri(after),
            "before_label": before_label,
            "after_label": after_label,
            "caption": caption,
            "position": float(position),
            # shown at most at its own width (up to 1024 px), small pictures enlarged to 512 px at most
            "width": max(min(w, 1024), min(DISPLAY_MIN_PX, 8 * w)),
        },
    )
