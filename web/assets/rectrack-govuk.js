// GOV.UK Frontend's components, as its own pages start them: the error summary takes focus when
// a page shows one, a summary's links focus their fields with labels and legends in view, a
// button sent once is not sent twice. A module (browsers that take modules are the ones GOV.UK
// Frontend supports); rectrack.js has marked the body as supported first. Pages work without it.
// The MoJ date picker adds a calendar button to the one-field dates (typed as 31/3/2025, which
// is how it writes a date chosen); without it they are text inputs, as the server reads them.
import { initAll } from '/assets/govuk-frontend.min.js';
import { DatePicker } from '/assets/moj-date-picker.js';

initAll();
// Every calendar button is "Choose date": each is described by its field's label, so that a
// screen reader going from button to button hears which date each one sets.
document.querySelectorAll('[data-module="moj-date-picker"]').forEach(($root) => {
  new DatePicker($root);
  const $label = $root.querySelector('label');
  const $toggle = $root.querySelector('.moj-js-datepicker-toggle');
  if (!$label || !$toggle) return;
  if (!$label.id) $label.id = `${$label.htmlFor}-label`;
  $toggle.setAttribute('aria-describedby', $label.id);
});
