#!/usr/bin/env escript
%%! -noshell
%% A gen_tcp echo server in the classic Erlang shape: several acceptor
%% processes blocked in gen_tcp:accept/2 on one listen socket, each serving
%% its connection in an {active, once} loop, then accepting again.
%%
%% Usage: multi_acceptor_server.escript ACCEPTORS PACKET ...
%%   One listen socket per PACKET (1, 2, 4, line or raw) on 127.0.0.1, port 0.
%% Prints "port PACKET N" for each, then "accepted PACKET ID" and
%% "closed PACKET ID FRAMES" per connection.  Stops when stdin closes;
%% a watchdog halts it after 20 s.
-mode(compile).

main([N | Packets]) ->
    spawn(fun() -> timer:sleep(20000), io:format("FAIL watchdog~n"), halt(3) end),
    Acceptors = list_to_integer(N),
    lists:foreach(fun(P) -> listen(packet(P), Acceptors) end, Packets),
    Self = self(),
    spawn_link(fun() -> _ = io:get_line(""), Self ! stdin_closed end),
    receive stdin_closed -> halt(0) end.

packet("line") -> line;
packet("raw") -> raw;
packet(P) -> list_to_integer(P).

listen(Packet, Acceptors) ->
    {ok, L} = gen_tcp:listen(0, [binary, {packet, Packet}, {active, false},
                                 {ip, {127, 0, 0, 1}}, {reuseaddr, true},
                                 {backlog, 64}, {nodelay, true}]),
    {ok, Port} = inet:port(L),
    [spawn(fun() -> acceptor(L, Packet, Id) end) || Id <- lists:seq(1, Acceptors)],
    io:format("port ~p ~b~n", [Packet, Port]).

acceptor(L, Packet, Id) ->
    case gen_tcp:accept(L, 20000) of
        {ok, S} ->
            io:format("accepted ~p ~b~n", [Packet, Id]),
            ok = inet:setopts(S, [{active, once}]),
            Frames = echo(S, 0),
            io:format("closed ~p ~b ~b~n", [Packet, Id, Frames]),
            acceptor(L, Packet, Id);
        {error, _} ->
            ok
    end.

%% One message per {tcp, S, Frame}: active-once counts frames, as gen_tcp does.
echo(S, Frames) ->
    receive
        {tcp, S, Frame} ->
            ok = gen_tcp:send(S, Frame),
            ok = inet:setopts(S, [{active, once}]),
            echo(S, Frames + 1);
        {tcp_closed, S} ->
            Frames;
        {tcp_error, S, Reason} ->
            io:format("FAIL tcp_error ~p~n", [Reason]),
            gen_tcp:close(S),
            Frames
    after 10000 ->
        io:format("FAIL idle connection~n"),
        gen_tcp:close(S),
        Frames
    end.
