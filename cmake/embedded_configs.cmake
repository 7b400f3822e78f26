# kvlm_embedded_configs(OUT_VAR): the real Llama 3.2 1B Instruct configs
# (data/llama-3.2-1b-instruct) as generated C++ sources for `kvlm synth`, in
# the calling directory's binary dir: a custom command's output can only be
# built by targets of the directory that declares it, so each directory that
# compiles the library (the top one, tests/fuzz) calls this itself.
function(kvlm_embedded_configs out_var)
  set(embed_dir ${PROJECT_SOURCE_DIR}/data/llama-3.2-1b-instruct)
  set(sources)
  foreach(pair "config.json:llama32_config_json"
               "generation_config.json:llama32_generation_config_json"
               "tokenizer_config.json:llama32_tokenizer_config_json"
               "chat_template.jinja:llama32_chat_template_jinja")
    string(REPLACE ":" ";" parts ${pair})
    list(GET parts 0 file)
    list(GET parts 1 name)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded/${name}.cpp)
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -DIN=${embed_dir}/${file} -DOUT=${out} -DNAME=${name}
              -P ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake
      DEPENDS ${embed_dir}/${file} ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake)
    list(APPEND sources ${out})
  endforeach()
  set(${out_var} ${sources} PARENT_SCOPE)
endfunction()
