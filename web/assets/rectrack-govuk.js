// GOV.UK Frontend's components, as its own pages start them: the error summary takes focus when
// a page shows one, a summary's links focus their fields with labels and legends in view, a
// button sent once is not sent twice. A module (browsers that take modules are the ones GOV.UK
// Frontend supports); rectrack.js has marked the body as supported first. Pages work without it.
import { initAll } from '/assets/govuk-frontend.min.js';

initAll();
