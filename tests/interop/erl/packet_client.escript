#!/usr/bin/env escript
%%! -noshell
%% gen_tcp clients against selreactor's `packet` echo server.
%%
%% Usage: packet_client.escript PACKET:PORT:MAX ...
%%   PACKET is 1, 2, 4 or line; PORT the server's port; MAX its --max-size
%%   (for line: the longest line, newline included).
%%
%% For each server it checks, printing "ok ..." or "FAIL ..." per check:
%%   sizes     {packet, P} messages of 0, 1 and MAX payload bytes echo back whole;
%%   batch     100 frames built by hand and sent in one write come back,
%%             decoded by gen_tcp's own {packet, P};
%%   split     a frame sent byte by byte ({packet, raw}, nodelay) comes back whole;
%%   oversize  (when MAX is below what the header can say) a message of MAX+1
%%             makes the server close that connection.
%% Every wait is bounded; a watchdog halts the node after 20 s.
-mode(compile).

-define(TIMEOUT, 5000).

main(Args) ->
    spawn(fun() -> timer:sleep(20000), io:format("FAIL watchdog: timed out~n"), halt(3) end),
    Results = lists:append([run(parse(Arg)) || Arg <- Args]),
    Failed = [R || R <- Results, R =/= ok],
    io:format("~b checks, ~b failed~n", [length(Results), length(Failed)]),
    halt(case Failed of [] -> 0; _ -> 1 end).

parse(Arg) ->
    [P, Port, Max] = string:split(Arg, ":", all),
    Packet = case P of "line" -> line; _ -> list_to_integer(P) end,
    {Packet, list_to_integer(Port), list_to_integer(Max)}.

run({Packet, Port, Max}) ->
    Checks = [{sizes, fun sizes/3}, {batch, fun batch/3}, {split, fun split/3}]
        ++ case Max < header_cap(Packet) of
               true -> [{oversize, fun oversize/3}];
               false -> []
           end,
    [check(Packet, Name, fun() -> F(Packet, Port, Max) end) || {Name, F} <- Checks].

check(Packet, Name, Fun) ->
    try Fun() of
        ok ->
            io:format("ok ~p ~p~n", [Packet, Name]),
            ok
    catch
        Class:Reason ->
            io:format("FAIL ~p ~p: ~p:~p~n", [Packet, Name, Class, Reason]),
            {fail, Packet, Name}
    end.

header_cap(1) -> 255;
header_cap(2) -> 65535;
header_cap(4) -> 4294967295;
header_cap(line) -> infinity.

%% A message as the server echoes it: lines keep their newline.
message(line, Size) when Size >= 1 -> <<(payload(Size - 1))/binary, "\n">>;
message(_, Size) -> payload(Size).

payload(Size) -> list_to_binary([$a + (I rem 26) || I <- lists:seq(1, Size)]).

%% The frame built by hand, to check gen_tcp's framing against ours.
frame(line, Message) -> Message;
frame(N, Message) -> <<(byte_size(Message)):(N * 8), Message/binary>>.

%% Later options win in gen_tcp, so the packet option is always given last.
opts(Packet, Max) ->
    [binary, {active, false}, {nodelay, true}, {buffer, Max + 16}, {packet, Packet}].

connect(Port, Opts) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, Opts, ?TIMEOUT),
    S.

recv_same(S, Expected) ->
    case gen_tcp:recv(S, 0, ?TIMEOUT) of
        {ok, Expected} -> ok;
        {ok, Other} -> error({mismatch, byte_size(Expected), byte_size(Other)});
        {error, Reason} -> error({recv, Reason})
    end.

sizes(Packet, Port, Max) ->
    S = connect(Port, opts(Packet, Max)),
    Sizes = case Packet of line -> [1, 2, Max]; _ -> [0, 1, Max] end,
    lists:foreach(
        fun(Size) ->
            M = message(Packet, Size),
            ok = gen_tcp:send(S, M),
            recv_same(S, M)
        end, Sizes),
    gen_tcp:close(S).

batch(Packet, Port, Max) ->
    S = connect(Port, opts(Packet, Max) ++ [{packet, raw}]),
    Messages = [message(Packet, 1 + (I * 37) rem 200) || I <- lists:seq(1, 100)],
    ok = gen_tcp:send(S, << <<(frame(Packet, M))/binary>> || M <- Messages >>),
    ok = inet:setopts(S, [{packet, Packet}]),
    lists:foreach(fun(M) -> recv_same(S, M) end, Messages),
    gen_tcp:close(S).

split(Packet, Port, Max) ->
    S = connect(Port, opts(Packet, Max) ++ [{packet, raw}]),
    M = message(Packet, 40),
    Wire = frame(Packet, M),
    %% Every header byte (and the first payload bytes) in its own segment.
    {Slow, Rest} = split_binary(Wire, 6),
    lists:foreach(fun(B) -> ok = gen_tcp:send(S, <<B>>), timer:sleep(3) end,
                  binary_to_list(Slow)),
    ok = gen_tcp:send(S, Rest),
    ok = inet:setopts(S, [{packet, Packet}]),
    recv_same(S, M),
    gen_tcp:close(S).

oversize(Packet, Port, Max) ->
    S = connect(Port, opts(Packet, Max) ++ [{packet, raw}]),
    Too = case Packet of
              line -> payload(Max);  %% MAX bytes and still no newline
              N -> <<(Max + 1):(N * 8), "abc">>  %% refused at the header
          end,
    ok = gen_tcp:send(S, Too),
    case gen_tcp:recv(S, 0, ?TIMEOUT) of
        {error, closed} -> ok;
        {error, econnreset} -> ok;
        Other -> error({expected_close, Other})
    end,
    gen_tcp:close(S).
