pragma circom 2.0.0;
// Small circuit compiled by circom in tests/test_r1cs_wtns_files.py: its .r1cs/.wtns must be read by
// our formats code and satisfy our checker. Uses circomlib's Poseidon and comparators.
include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/comparators.circom";

template Judge() {
    signal input a;          // public
    signal input b;          // public
    signal input secret;     // private
    signal output h;
    signal output lt;
    signal output prod;

    component hash = Poseidon(2);
    hash.inputs[0] <== a;
    hash.inputs[1] <== secret;
    h <== hash.out;

    component cmp = LessThan(64);
    cmp.in[0] <== a;
    cmp.in[1] <== b;
    lt <== cmp.out;

    signal sq;
    sq <== secret * secret;
    prod <== sq * b + a;
}

component main {public [a, b]} = Judge();
