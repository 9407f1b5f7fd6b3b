#!/usr/bin/env escript
%%! -noshell
%% An Erlang ssl {packet, 2} echo server for selreactor's TLS client.
%%
%% Usage: tls_packet_server.escript CERTFILE KEYFILE
%%   Listens on a free port, prints "port N", serves one connection: echoes
%%   every {packet, 2} message, and when the client closes prints
%%   "closed MESSAGES BYTES" and halts.  Halts after 20 s at worst.
-mode(compile).

-define(TIMEOUT, 10000).

main([CertFile, KeyFile]) ->
    spawn(fun() -> timer:sleep(20000), io:format("FAIL watchdog: timed out~n"), halt(3) end),
    {ok, _} = application:ensure_all_started(ssl),
    {ok, Listen} = ssl:listen(0, [binary, {packet, 2}, {active, false}, {reuseaddr, true},
                                  {certfile, CertFile}, {keyfile, KeyFile},
                                  {ip, {127, 0, 0, 1}}]),
    {ok, {_, Port}} = ssl:sockname(Listen),
    io:format("port ~b~n", [Port]),
    {ok, Transport} = ssl:transport_accept(Listen, ?TIMEOUT),
    {ok, Socket} = ssl:handshake(Transport, ?TIMEOUT),
    loop(Socket, 0, 0).

loop(Socket, Count, Bytes) ->
    case ssl:recv(Socket, 0, ?TIMEOUT) of
        {ok, Message} ->
            ok = ssl:send(Socket, Message),
            loop(Socket, Count + 1, Bytes + byte_size(Message));
        {error, closed} ->
            io:format("closed ~b ~b~n", [Count, Bytes]),
            halt(0);
        {error, Reason} ->
            io:format("FAIL recv: ~p~n", [Reason]),
            halt(1)
    end.
