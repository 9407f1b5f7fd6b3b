#!/usr/bin/env escript
%%! -noshell
%% Raw ({packet, 0}) transfers with half-close, both ways, checked by sha256.
%%
%% Usage:
%%   halfclose.escript client PORT BYTES
%%     Connects to an echo server, sends BYTES random bytes from another
%%     process, then gen_tcp:shutdown(S, write); reads until the server
%%     closes.  Prints "sent SHA", "received SHA", then "ok" or "FAIL".
%%   halfclose.escript server
%%     Listens on 127.0.0.1 port 0 (prints "port N"), accepts one connection
%%     with {exit_on_close, false}, echoes everything until the peer's
%%     half-close, prints "received SHA" of what came, then shuts its own
%%     write side and closes.
%% Every wait is bounded; a watchdog halts the node after 20 s.
-mode(compile).

-define(TIMEOUT, 5000).

main(Args) ->
    spawn(fun() -> timer:sleep(20000), io:format("FAIL watchdog~n"), halt(3) end),
    {ok, _} = application:ensure_all_started(crypto),
    halt(run(Args)).

run(["client", Port, Bytes]) ->
    Data = crypto:strong_rand_bytes(list_to_integer(Bytes)),
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, list_to_integer(Port),
                              [binary, {packet, 0}, {active, false}], ?TIMEOUT),
    spawn_link(fun() -> send_chunks(S, Data), ok = gen_tcp:shutdown(S, write) end),
    case recv_all(S, []) of
        {ok, Back} ->
            Sent = hex(Data),
            Received = hex(Back),
            io:format("sent ~s~nreceived ~s~n", [Sent, Received]),
            case Sent =:= Received of
                true -> io:format("ok~n"), 0;
                false -> io:format("FAIL ~b bytes sent, ~b back~n",
                                   [byte_size(Data), byte_size(Back)]), 1
            end;
        {error, Reason} ->
            io:format("FAIL recv ~p~n", [Reason]),
            1
    end;
run(["server"]) ->
    {ok, L} = gen_tcp:listen(0, [binary, {packet, 0}, {active, false},
                                 {ip, {127, 0, 0, 1}}, {exit_on_close, false}]),
    {ok, Port} = inet:port(L),
    io:format("port ~b~n", [Port]),
    {ok, S} = gen_tcp:accept(L, ?TIMEOUT),
    case echo(S, []) of
        {ok, Got} ->
            io:format("received ~s ~b~n", [hex(Got), byte_size(Got)]),
            ok = gen_tcp:shutdown(S, write),
            gen_tcp:close(S),
            io:format("ok~n"),
            0;
        {error, Reason} ->
            io:format("FAIL recv ~p~n", [Reason]),
            1
    end.

send_chunks(_, <<>>) -> ok;
send_chunks(S, Data) ->
    Size = min(byte_size(Data), 65536),
    <<Chunk:Size/binary, Rest/binary>> = Data,
    ok = gen_tcp:send(S, Chunk),
    send_chunks(S, Rest).

recv_all(S, Acc) ->
    case gen_tcp:recv(S, 0, ?TIMEOUT) of
        {ok, Data} -> recv_all(S, [Data | Acc]);
        {error, closed} -> {ok, iolist_to_binary(lists:reverse(Acc))};
        {error, Reason} -> {error, Reason}
    end.

%% With {exit_on_close, false} the socket stays writable after the peer's
%% half-close: recv says closed, send still works.
echo(S, Acc) ->
    case gen_tcp:recv(S, 0, ?TIMEOUT) of
        {ok, Data} ->
            ok = gen_tcp:send(S, Data),
            echo(S, [Data | Acc]);
        {error, closed} ->
            {ok, iolist_to_binary(lists:reverse(Acc))};
        {error, Reason} ->
            {error, Reason}
    end.

hex(Data) -> lists:flatten([io_lib:format("~2.16.0b", [B]) || <<B>> <= crypto:hash(sha256, Data)]).
