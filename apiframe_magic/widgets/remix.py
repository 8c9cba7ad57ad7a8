"""The Remix editor: with the view's Remix switch on, Reroll, Vary and V1-V4 open the prompt here
first; it is validated as it is typed, by the prompt panel's own check, and sent only when valid.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from .panel_text import check_prompt
from .style import close_tree


class RemixEditor(widgets.VBox):
    """`RemixEditor(view, action, starter)`: `starter(job, prompt)` starts the remixed follow-up.

    Public: `text` (the Textarea), `messages`, `send_button`, `cancel_button`, `check`, `send()`.
    """

    def __init__(self, view, action, starter):
        self.view, self.action, self.starter = view, action, starter
        self.text = widgets.Textarea(value=view.job.prompt or "", rows=3, description="Prompt",
                                     layout=widgets.Layout(width="100%"))
        self.text.add_class("amj-remix-input")
        self.messages = widgets.HTML()
        self.send_button = widgets.Button(description=f"{action.label} (Remix)",
                                          tooltip="Send with this prompt", button_style="primary")
        self.cancel_button = widgets.Button(description="Cancel", tooltip="Close the editor")
        self.send_button.on_click(lambda _b: self.send())
        self.cancel_button.on_click(lambda _b: self.dismiss())
        self.text.observe(lambda _change: self._validate(), "value")
        heading = widgets.HTML(f"<b>Remix</b>: edit the prompt for {html.escape(action.label)}")
        super().__init__([heading, self.text, self.messages,
                          widgets.HBox([self.send_button, self.cancel_button])])
        self.add_class("amj-remix")
        self._validate()

    def _validate(self):
        ctx = self.view.ctx
        check = check_prompt(self.text.value, version=ctx.version, store=ctx.store)
        if check.ok and check.jobs != 1:
            check.errors.append("a remixed prompt makes one job: remove the {...} choices")
        self.check = check
        lines = [f"Error: {e}" for e in check.errors] if not check.empty else [
            "Write the prompt to use."]
        self.messages.value = "<br>".join(
            f'<span class="amj-error">{html.escape(line)}</span>' for line in lines)
        self.send_button.disabled = not check.ok
        return check

    def send(self):
        """Send the remixed follow-up through the view (once); returns its job or None."""
        check = self._validate()
        if not check.ok:
            return None
        text = check.text
        child = self.view.start_action(self.action, lambda job: self.starter(job, text))
        if child is not None:
            self.dismiss()
        return child

    def dismiss(self) -> None:
        self.view.remove_child(self)
        close_tree(self)
