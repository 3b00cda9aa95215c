// tsgi/node: the bridges between TSGI and Node's `(req, res)` listeners.
//   toNodeListener(app)          a TSGI application mounted in Express, Connect or http.createServer()
//   fromNodeListener(listener)   an Express (or any Node listener) application served by tsgi's doors
export { toNodeListener, type NodeListener, type NodeListenerOptions } from './listener.js';
export { fromNodeListener, type RequestListener } from './app.js';
