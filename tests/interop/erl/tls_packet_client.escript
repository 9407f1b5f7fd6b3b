#!/usr/bin/env escript
%%! -noshell
%% Erlang's ssl application against selreactor's `packet --packet 2` echo over TLS.
%%
%% Usage: tls_packet_client.escript PORT CAFILE
%%   Connects with {packet, 2}, verifying the server's certificate against
%%   CAFILE and its name (localhost); sends messages of 0, 1, 1000 and 65535
%%   bytes and 100 small ones at once, and checks each echo byte for byte.
%%   Prints "ok tls ..." per check, "FAIL ..." otherwise; halts after 20 s.
-mode(compile).

-define(TIMEOUT, 5000).

main([PortText, CaFile]) ->
    spawn(fun() -> timer:sleep(20000), io:format("FAIL watchdog: timed out~n"), halt(3) end),
    {ok, _} = application:ensure_all_started(ssl),
    Port = list_to_integer(PortText),
    Options = [binary, {packet, 2}, {active, false}, {verify, verify_peer},
               {cacertfile, CaFile}, {server_name_indication, "localhost"},
               {versions, ['tlsv1.3', 'tlsv1.2']}],
    {ok, Socket} = ssl:connect("127.0.0.1", Port, Options, ?TIMEOUT),
    {ok, Version} = ssl:connection_information(Socket, [protocol]),
    io:format("ok tls connected ~p~n", [Version]),
    Sizes = [0, 1, 1000, 65535],
    [begin
         Message = crypto:strong_rand_bytes(Size),
         ok = ssl:send(Socket, Message),
         {ok, Message} = ssl:recv(Socket, 0, ?TIMEOUT)
     end || Size <- Sizes],
    io:format("ok tls sizes~n"),
    Batch = [crypto:strong_rand_bytes(N * 7) || N <- lists:seq(1, 100)],
    [ok = ssl:send(Socket, M) || M <- Batch],
    [{ok, M} = ssl:recv(Socket, 0, ?TIMEOUT) || M <- Batch],
    io:format("ok tls batch~n"),
    ok = ssl:close(Socket),
    halt(0).
