/**
 *  The bench IVR written with ari-client, the way that library's examples
 *  write an application: a peer for the load harness to measure the cti
 *  worker against (bench/node_peer.py starts it; docs/performance.md compares).
 *
 *  The call: the dialplan has answered and sent the channel here; play the
 *  greeting; on a digit, stop the greeting if it is still playing and play
 *  the second prompt; hang up when that prompt ends.
 *
 *  @example <caption>Dialplan (bench/targets.py installs it)</caption>
 *  exten => 700,1,Answer()
 *      same => n,Stasis(cti-node-peer)
 *      same => n,Hangup()
 *
 *  Environment: ARI_URL, ARI_USERNAME, ARI_PASSWORD, ARI_APP.
 */

'use strict';

var client = require('ari-client');
var util = require('util');

var ARI_URL = process.env.ARI_URL || 'http://127.0.0.1:8088';
var ARI_USERNAME = process.env.ARI_USERNAME || 'asterisk';
var ARI_PASSWORD = process.env.ARI_PASSWORD || 'asterisk';
var ARI_APP = process.env.ARI_APP || 'cti-node-peer';

var GREETING = 'sound:cti/welcome';
var SECOND_PROMPT = 'sound:cti/invalid';

/**
 *  A request about a call that has already ended fails with 404 (the caller
 *  hung up first): that is a normal end, not worth a line. Anything else is.
 *
 *  @param {string} what - what the request was for
 *  @returns {Function} a promise rejection handler
 */
function unlessGone (what) {
  return function (err) {
    var message = (err && err.message) || String(err);
    if (/not found/i.test(message)) {
      return;
    }
    console.error(util.format('%s failed: %s', what, message));
  };
}

client.connect(ARI_URL, ARI_USERNAME, ARI_PASSWORD)
  .then(function (ari) {

    ari.on('StasisStart',
        /**
         *  A call entered the application: play the greeting and wait for a
         *  digit. The listeners are per channel and per playback; the ones
         *  that never fired are removed when the channel leaves, else every
         *  unfinished call would stay in the client's listener lists.
         *
         *  @param {Object} event - the full event object
         *  @param {module:resources~Channel} channel - the caller's channel
         */
        function (event, channel) {

      var greeting = ari.Playback();
      var prompt = ari.Playback();
      var greetingPlaying = true;

      greeting.once('PlaybackFinished', function () {
        greetingPlaying = false;
      });

      channel.once('ChannelDtmfReceived', function (event, channel) {
        if (greetingPlaying) {
          greeting.stop()
            .catch(unlessGone('stopping the greeting'));
        }

        prompt.once('PlaybackFinished', function () {
          channel.hangup()
            .catch(unlessGone('hanging up'));
        });

        channel.play({media: SECOND_PROMPT}, prompt)
          .catch(unlessGone('playing the second prompt'));
      });

      channel.once('StasisEnd', function () {
        channel.removeAllListeners('ChannelDtmfReceived');
        greeting.removeAllListeners('PlaybackFinished');
        prompt.removeAllListeners('PlaybackFinished');
      });

      channel.play({media: GREETING}, greeting)
        .catch(unlessGone('playing the greeting'));
    });

    ari.on('WebSocketReconnecting', function (err) {
      console.error(util.format('events websocket lost (%s): reconnecting',
                                err ? err.message : 'closed'));
    });

    return ari.start(ARI_APP);
  })
  .then(function () {
    // The bench waits for this line before it sends calls.
    console.log(util.format('ready: application %s on %s', ARI_APP, ARI_URL));
  })
  .catch(function (err) {
    console.error(util.format('cannot start %s on %s: %s', ARI_APP, ARI_URL,
                              err && err.message ? err.message : err));
    process.exit(1);
  });
