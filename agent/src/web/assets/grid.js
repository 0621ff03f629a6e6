// caiji agent: the data grid (editing in place, keyboard navigation, validation as one types).
"use strict";
