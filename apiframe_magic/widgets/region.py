"""The Vary (Region) editor: the upscaled image on a canvas where the user drags rectangles or
draws a freehand lasso over the part to repaint, undoes or clears, may edit the prompt, and
submits. Shapes are kept in fractions of the image, so the mask (`masks.make_mask`) is made at the
image's own pixel size whatever size the canvas is shown at.

The canvas is ipycanvas's (two layers: the picture, then the marks); it is imported only when an
editor opens. Its mouse events arrive on the main thread, like clicks.
"""
from __future__ import annotations

import html
from typing import Callable

import ipywidgets as widgets

from .panel_text import check_prompt
from .style import close_tree

SHOWN_SIDE = 512           # the canvas's long side in pixels
MIN_DRAG = 4               # pixels: a shorter drag is a click, not a rectangle
LASSO_STEP = 3             # pixels between two recorded lasso points
MARK_FILL = "rgba(255, 64, 64, 0.35)"
MARK_LINE = "#ff4040"
RECTANGLE, LASSO = "Rectangle", "Lasso"


class RegionEditor(widgets.VBox):
    """`RegionEditor(view, action)` under an upscale-1x view.

    Public: `canvas` (ipycanvas.MultiCanvas), `mode` (Rectangle / Lasso), `shapes` (boxes
    `(l, t, r, b)` and outlines `[(x, y), ...]` in fractions), `prompt`, `messages`,
    `submit_button`, `undo_button`, `clear_button`, `cancel_button`; `press/drag/release(x, y)`
    (what the mouse does, in canvas pixels), `undo()`, `clear()`, `submit()`.
    """

    def __init__(self, view, action):
        from ipycanvas import MultiCanvas

        self.view, self.action = view, action
        self.shapes: list = []
        self._drag: list[tuple[float, float]] | None = None
        path = view.job.image_paths.get("image")
        if path is None:
            raise ValueError("the image is not downloaded yet: try again once it is shown")
        picture = widgets.Image(value=view._thumbnail(path, SHOWN_SIDE), format="jpeg")
        self._picture = picture
        from PIL import Image

        with Image.open(path) as image:
            width, height = image.size
        scale = SHOWN_SIDE / max(width, height)
        self.width, self.height = round(width * scale), round(height * scale)
        self.canvas = MultiCanvas(2, width=self.width, height=self.height, layout=widgets.Layout(
            width=f"{self.width}px", height=f"{self.height}px"))   # never stretched
        self.canvas.add_class("amj-region-canvas")
        self.canvas[0].draw_image(picture, 0, 0, self.width, self.height)
        self.canvas.on_mouse_down(self.press)
        self.canvas.on_mouse_move(self.drag)
        self.canvas.on_mouse_up(self.release)

        self.mode = widgets.ToggleButtons(options=(RECTANGLE, LASSO), value=RECTANGLE,
                                          tooltips=["Drag to mark a rectangle",
                                                    "Draw around the part to repaint"])
        self.undo_button = self._button("Undo", "Remove the last mark", self.undo)
        self.clear_button = self._button("Clear", "Remove every mark", self.clear)
        self.prompt = widgets.Text(value=view.job.prompt or "", description="Prompt",
                                   layout=widgets.Layout(width="100%"))
        self.prompt.observe(lambda _change: self._validate(), "value")
        self.messages = widgets.HTML()
        self.submit_button = self._button("Submit Vary (Region)",
                                          "Repaint the marked part (inpaint, 4 credits)",
                                          self.submit)
        self.submit_button.button_style = "primary"
        self.cancel_button = self._button("Cancel", "Close the editor", self.dismiss)
        heading = widgets.HTML("<b>Vary (Region)</b>: mark the part to repaint")
        super().__init__([heading, widgets.HBox([self.mode, self.undo_button,
                                                 self.clear_button]),
                          self.canvas, self.prompt, self.messages,
                          widgets.HBox([self.submit_button, self.cancel_button])])
        self.add_class("amj-region")
        self._validate()

    @staticmethod
    def _button(label: str, tip: str, what: Callable[[], object]) -> widgets.Button:
        button = widgets.Button(description=label, tooltip=tip,
                                layout=widgets.Layout(width="auto"))
        button.on_click(lambda _b: what())
        return button

    # ------------------------------------------------------------------ the mouse

    def press(self, x: float, y: float) -> None:
        self._drag = [(x, y)]

    def drag(self, x: float, y: float) -> None:
        if self._drag is None:
            return
        if self.mode.value == LASSO:
            last = self._drag[-1]
            if abs(x - last[0]) + abs(y - last[1]) >= LASSO_STEP:
                self._drag.append((x, y))
        else:
            self._drag[1:] = [(x, y)]
        self._draw(self._drag)

    def release(self, x: float, y: float) -> None:
        if self._drag is None:
            return
        points, self._drag = self._drag + [(x, y)], None
        shape = self._shape(points)
        if shape is not None:
            self.shapes.append(shape)
        self._draw()
        self._validate()

    def _shape(self, points):
        """A box or an outline in fractions, or None for a click."""
        def frac(px, py):
            return (min(max(px / self.width, 0.0), 1.0), min(max(py / self.height, 0.0), 1.0))

        if self.mode.value == LASSO:
            outline = [frac(px, py) for px, py in points]
            return outline if len(outline) >= 3 else None
        (x0, y0), (x1, y1) = points[0], points[-1]
        if abs(x1 - x0) < MIN_DRAG or abs(y1 - y0) < MIN_DRAG:
            return None
        left, top = frac(min(x0, x1), min(y0, y1))
        right, bottom = frac(max(x0, x1), max(y0, y1))
        return (left, top, right, bottom)

    # ------------------------------------------------------------------ the marks

    def undo(self) -> None:
        if self.shapes:
            self.shapes.pop()
        self._draw()
        self._validate()

    def clear(self) -> None:
        self.shapes.clear()
        self._draw()
        self._validate()

    def _draw(self, preview=None) -> None:
        from ipycanvas import hold_canvas

        layer = self.canvas[1]
        with hold_canvas():
            layer.clear()
            layer.fill_style, layer.stroke_style, layer.line_width = MARK_FILL, MARK_LINE, 2
            for shape in self.shapes:
                self._draw_shape(layer, shape)
            if preview and len(preview) > 1:
                if self.mode.value == LASSO:
                    layer.stroke_lines(preview)
                else:
                    (x0, y0), (x1, y1) = preview[0], preview[-1]
                    layer.stroke_rect(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))

    def _draw_shape(self, layer, shape) -> None:
        if len(shape) == 4 and not isinstance(shape[0], tuple):
            left, top, right, bottom = shape
            box = (left * self.width, top * self.height, (right - left) * self.width,
                   (bottom - top) * self.height)
            layer.fill_rect(*box)
            layer.stroke_rect(*box)
        else:
            points = [(x * self.width, y * self.height) for x, y in shape]
            layer.fill_polygon(points)
            layer.stroke_polygon(points)

    # ------------------------------------------------------------------ sending

    def _validate(self) -> bool:
        problems = []
        if not self.shapes:
            problems.append("Mark the part to repaint: drag a rectangle or draw a lasso.")
        check = check_prompt(self.prompt.value, version=self.view.ctx.version,
                             store=self.view.ctx.store)
        if check.empty:
            problems.append("Write the prompt for the region.")
        problems += [f"Error: {e}" for e in check.errors]
        if check.ok and check.jobs != 1:
            problems.append("Error: the prompt makes one job: remove the {...} choices")
        self.messages.value = "<br>".join(
            f'<span class="amj-error">{html.escape(p)}</span>' for p in problems)
        self.submit_button.disabled = bool(problems)
        self._text = check.text
        return not problems

    def submit(self):
        """Send the marks as the mask through the view (once); returns the job or None."""
        if not self._validate():
            return None
        shapes, text = list(self.shapes), self._text
        same = text == (self.view.job.prompt or "")
        child = self.view.start_action(
            self.action, lambda job: job.vary_region(shapes, prompt=None if same else text))
        if child is not None:
            self.dismiss()
        return child

    def dismiss(self) -> None:
        self.view.remove_child(self)
        for layer in (self.canvas[0], self.canvas[1], self._picture):  # not `children`
            close_tree(layer)
        close_tree(self)
