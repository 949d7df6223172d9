// VisionQA conversation page: upload photos, ask over the websocket, show the
// reasoning and answer as they stream. This module is the entry point: the
// others only define things when imported, and are started here, in this
// order (listeners on the same element run in the order they were added).

import { initActions } from "./actions.js";
import { initComposer } from "./composer.js";
import { attachShared, initPhotos } from "./photos.js";
import { handle } from "./replies.js";
import { initShare } from "./share.js";
import { initSidebar } from "./sidebar.js";
import { connect, initSocket } from "./socket.js";
import { initState } from "./state.js";
import { initVoice } from "./voice.js";

initState();
initPhotos();
initActions();
initComposer();
attachShared(); // once the model is picked: the estimate and the vision check need it
initSidebar();
initShare();
initVoice();
initSocket(handle);
connect();

// Everything is wired up: tests (and anything else) can wait for this.
document.body.dataset.ready = "true";
