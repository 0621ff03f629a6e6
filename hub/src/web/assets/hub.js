// caiji hub: scripts of the office's screens (progress board refresh, review helpers).
"use strict";
